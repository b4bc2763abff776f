// The processes a benchmark starts: the `token-issuer` CLI for setup, and servers (the issuer, the
// reference) whose output goes to files and whose port is read from their "listening" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Server {
  port: number;
  pid: number;
  child: ChildProcess;
}

export function createProcessHost(env: NodeJS.ProcessEnv) {
  const logDir = mkdtempSync(join(tmpdir(), 'token-issuer-bench-logs-'));
  const children: ChildProcess[] = [];

  return {
    /** Runs `token-issuer <args>` to completion; its stdout. */
    cli(args: string[], input = ''): Promise<string> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['bin/token-issuer.js', ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stdin.end(input);
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`token-issuer ${args.join(' ')} exited ${code}`))));
      });
    },

    /**
     * Starts a server on a free port; resolves once it logs "listening". Its output goes to a file,
     * as a container's log driver would take it: a pipe read by this process, busy with the load
     * generator, fills up and makes every log write of the server wait.
     */
    listen(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Server> {
      const logFile = join(logDir, `${children.length}.log`);
      const output = openSync(logFile, 'w');
      const child = spawn(process.execPath, args, { env: { ...env, ...extraEnv, PORT: '0' }, stdio: ['ignore', output, 'inherit'] });
      closeSync(output);
      children.push(child);
      return new Promise((resolve, reject) => {
        const poll = setInterval(() => {
          const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(readFileSync(logFile, 'utf8'));
          if (!match) return;
          clearInterval(poll);
          resolve({ port: Number(match[1]), pid: child.pid!, child });
        }, 50);
        child.on('exit', (code) => {
          clearInterval(poll);
          reject(new Error(`${args.join(' ')} exited ${code}`));
        });
      });
    },

    /** Stops every server (SIGTERM, then a second to drain) and removes their logs. */
    async stopAll(): Promise<void> {
      for (const child of children) child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
