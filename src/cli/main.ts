// The `token-issuer` command. While an embedded server runs, it holds the data directory: the
// command is then sent to it over DATA_DIR/control.sock and carried out there. Otherwise, or with
// DATABASE_URL, this process opens the database itself. Only what that path needs is loaded.
import { loadConfig } from '../config.js';
import { sendToServer, type CliOutcome } from './control-channel.js';
import { withFilesRead } from './arguments.js';

let stdinText: Promise<string> | undefined;
const outcome = await run(process.argv.slice(2));
process.stdout.write(outcome.stdout);
process.stderr.write(outcome.stderr);
process.exitCode = outcome.exitCode;

async function run(given: string[]): Promise<CliOutcome> {
  const verbose = given.includes('--verbose');
  let argv: string[];
  try {
    argv = withFilesRead(given.filter((arg) => arg !== '--verbose'));
  } catch (error) {
    return { exitCode: 2, stdout: '', stderr: `token-issuer: ${(error as Error).message}\n` };
  }
  // Help and the version need no database, and no server.
  const answersItself = argv.length === 0 || ['help', '--help', '-h', '--version'].includes(argv[0]!) || argv.includes('--help');
  return (answersItself ? undefined : await sentToRunningServer(argv)) ?? (await runHere(argv, verbose));
}

async function sentToRunningServer(argv: string[]): Promise<CliOutcome | undefined> {
  let dataDir: string;
  try {
    const config = loadConfig(process.env);
    if (config.databaseUrl) return undefined;
    dataDir = config.dataDir;
  } catch {
    return undefined; // this process reports the configuration problem itself
  }
  // Standard input is read only by a command that takes it: reading a terminal would wait.
  const stdin = argv.includes('--password-stdin') ? await readAll(process.stdin) : '';
  return sendToServer(dataDir, { argv, stdin }).catch((error: Error) => ({
    exitCode: 1,
    stdout: '',
    stderr: `token-issuer: the running server did not answer: ${error.message}\n`,
  }));
}

async function runHere(argv: string[], verbose: boolean): Promise<CliOutcome> {
  const [{ runCli }, { openFromEnvironment }] = await Promise.all([import('./run.js'), import('./cli-context.js')]);
  const io = { readStdin: () => readAll(process.stdin), warn: (line: string) => console.error(line) };
  return runCli(argv, io, openFromEnvironment(process.env, { verbose }));
}

/** Standard input, read once (a command sent to the server and then run here reads it once). */
function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  stdinText ??= (async () => {
    let input = '';
    for await (const chunk of stream) input += String(chunk);
    return input;
  })();
  return stdinText;
}
