import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { UsageError } from './usage-error.js';

/** CLI lists: comma-separated, and for scopes also space-separated; blanks dropped. */
export function splitList(value: string | undefined, separators: RegExp = /,/): string[] {
  return (value ?? '')
    .split(separators)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The key set `--jwks-file` read (withFilesRead), parsed; its shape is checked by the command's schema. */
export function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('--jwks-file: not a JSON key set ({"keys": [...]})');
  }
}

/** The one positional argument a command takes, and no options. */
export function onePositional(args: string[], message: string): string {
  // A key id is base64url and may begin with '-' ("-K3f…"): the CLI has no one-dash options, so a
  // lone argument like that is the value, not an unknown option.
  if (args.length === 1 && /^-[^-]/.test(args[0]!)) return args[0]!;
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError(message);
  return positionals[0]!;
}

/** Who acted, for the audit events of CLI commands: `cli:<the OS user running it>`. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/**
 * `--jwks-file F` becomes `--jwks <its contents>`, read by this process: a command carried out by a
 * running server (cli/control-channel.ts) must not read paths relative to, or with the rights of,
 * the server. Throws UsageError when the file cannot be read.
 */
export function withFilesRead(argv: string[]): string[] {
  const index = argv.indexOf('--jwks-file');
  if (index < 0) return argv;
  const path = argv[index + 1];
  if (path === undefined) throw new UsageError('--jwks-file takes a file name');
  let contents: string;
  try {
    contents = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--jwks-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return [...argv.slice(0, index), '--jwks', contents, ...argv.slice(index + 2)];
}
