import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { UsageError } from './usage-error.js';

/** CLI lists: comma-separated, and for scopes also space-separated; blanks dropped. */
export function splitList(value: string | undefined, separators: RegExp = /,/): string[] {
  return (value ?? '')
    .split(separators)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The one positional argument a command takes, and no options. */
export function onePositional(args: string[], message: string): string {
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
