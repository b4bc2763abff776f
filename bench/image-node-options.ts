import { readFileSync } from 'node:fs';

/**
 * The Node options the container image runs the issuer with (`ENV NODE_OPTIONS` in
 * deploy/Dockerfile, its heap cap): the benchmark runs the issuer with them, and the deployment
 * test checks them against the Kubernetes memory limit.
 */
export function imageNodeOptions(): string {
  const dockerfile = readFileSync(new URL('../deploy/Dockerfile', import.meta.url), 'utf8');
  const options = /^ENV .*\bNODE_OPTIONS="([^"]*)"/m.exec(dockerfile)?.[1];
  if (options === undefined) throw new Error('deploy/Dockerfile sets no NODE_OPTIONS');
  return options;
}
