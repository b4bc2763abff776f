import { spawn, type ChildProcess } from 'node:child_process';
import { openFromEnvironment, type CliContext } from '../../src/cli/cli-context.js';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The environment a child gets: this one's PATH and friends, no inherited service settings. */
function childEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'DATA_DIR', 'ISSUER', 'KEY_ENCRYPTION_KEY', 'PORT', 'NODE_ENV']) {
    delete inherited[name];
  }
  return { ...inherited, ...env };
}

export interface RunningServer {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the server wrote so far, stdout and stderr. */
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `src/main.ts` as its own process on a free port and waits until it listens. */
export function startServer(env: Record<string, string>): Promise<RunningServer> {
  return startListening(['src/main.ts'], { PORT: '0', HOST: '127.0.0.1', ISSUER: 'http://issuer.test', ...env });
}

/**
 * An upstream OpenID Connect provider (node-oidc-provider, test/support/upstream-oidc-provider.ts)
 * at http://localhost:PORT, with one client: `token-issuer`, `clientSecret`, `redirectUri`.
 */
export function startUpstreamProvider(env: { PORT: string; CLIENT_SECRET: string; REDIRECT_URI: string }): Promise<RunningServer> {
  return startListening(['test/support/upstream-oidc-provider.ts'], env);
}

/** Starts the demo downstream API (deploy/demo-api), which knows only @token-issuer/verifier. */
export function startDemoApi(env: Record<string, string>): Promise<RunningServer> {
  return startListening(['deploy/demo-api/server.ts'], { PORT: '0', HOST: '127.0.0.1', ...env });
}

/** One service of a call chain on the verifier library (test/support/hop-service.ts). */
export function startHopService(env: Record<string, string>): Promise<RunningServer> {
  return startListening(['test/support/hop-service.ts'], env);
}

/** Runs a TypeScript entry point with tsx and waits for its "listening" log line. */
async function startListening(args: string[], env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ...args], {
    cwd: repositoryRoot,
    env: childEnvironment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a process behind
      reject(new Error(`server did not start:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  // A server that dies under a test (not killed by it) would otherwise show only as refused connections.
  void exited.then((code) => {
    if (!child.killed) console.error(`${args.join(' ')} exited on its own (code ${code}); its last output:\n${output.slice(-4000)}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `token-issuer` command the way an operator would; `input` goes to its stdin. */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return runCommand(process.execPath, ['bin/token-issuer.js', ...args], env, input);
}

export function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
  cwd = repositoryRoot,
): Promise<CliResult> {
  const child = spawn(command, args, { cwd, env: childEnvironment(env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(input ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

export interface ClientCredentials {
  client_id: string;
  client_secret: string;
}

/**
 * A server and the CLI beside it, as an operator runs them: with PostgreSQL both open the database;
 * in the embedded mode the command is carried out by the running server (cli/control-channel.ts).
 */
export class ServerHarness {
  private constructor(
    private env: Record<string, string>,
    readonly embedded: boolean,
    public server: RunningServer,
  ) {}

  static async start(env: Record<string, string>): Promise<ServerHarness> {
    return new ServerHarness(env, env.DATABASE_URL === undefined, await startServer(env));
  }

  get url(): string {
    return this.server.url;
  }

  cli(args: string[], input?: string): Promise<CliResult> {
    return runCli(args, this.env, input);
  }

  /**
   * Runs domain code on the server's database from this test's process, as a CLI command would
   * (the embedded database belongs to one process: there the server is stopped around it).
   */
  async withData<T>(run: (context: CliContext) => Promise<T>): Promise<T> {
    if (this.embedded) await this.server.stop();
    try {
      return await openFromEnvironment(this.env)(run);
    } finally {
      if (this.embedded) this.server = await startServer(this.env);
    }
  }

  /** Restarts the server, optionally with other settings. */
  async restart(overrides: Record<string, string> = {}): Promise<void> {
    await this.server.stop();
    this.env = { ...this.env, ...overrides };
    this.server = await startServer(this.env);
  }

  stop(): Promise<number | null> {
    return this.server.stop();
  }
}

/** A TCP port free on the loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
