import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, configDefaults, loadConfig } from '../src/config.js';
import { OPENAPI_PATH } from '../src/http/routes/openapi-routes.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { imageNodeOptions } from '../bench/image-node-options.js';
import { repositoryRoot, runCommand } from './support/processes.js';

/**
 * The deployment files cannot be run here (no Docker engine, no cluster), so they are checked
 * against what the code really reads and serves: a renamed variable, probe path or port breaks this.
 */
/** Parsed YAML is untyped; these tests walk it as the files are written. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Yaml = any;

const deploy = join(repositoryRoot, 'deploy');
const read = (...path: string[]) => readFileSync(join(deploy, ...path), 'utf8');
const servedPaths = Object.keys((parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, unknown> }).paths);
const k8sDocuments = readdirSync(join(deploy, 'k8s'))
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) => parseAllDocuments(read('k8s', file)).map((document) => document.toJSON() as Record<string, Yaml>));
const manifest = (kind: string) => k8sDocuments.find((document) => document.kind === kind)!;
const placeholderFree = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, value === 'CHANGE-ME' || value === '' ? randomBytes(32).toString('base64') : value]),
  );

describe('every YAML file under deploy/', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? files(join(dir, entry.name)) : /\.ya?ml$/.test(entry.name) ? [join(dir, entry.name)] : [],
    );
  it.each(files(deploy).map((file) => [file.slice(deploy.length + 1), file]))('%s parses', (_name, file) => {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) expect(document.errors).toEqual([]);
  });
});

describe('Kubernetes manifests', () => {
  const configMap = manifest('ConfigMap').data as Record<string, string>;
  const secret = manifest('Secret').stringData as Record<string, string>;
  const container = manifest('Deployment').spec.template.spec.containers[0];
  const portOf = (name: string) => container.ports.find((port: { name: string }) => port.name === name)?.containerPort;

  it('name only variables the service reads, and together form a valid production configuration', () => {
    for (const name of [...Object.keys(configMap), ...Object.keys(secret)]) expect(CONFIG_VARIABLES).toContain(name);
    const config = loadConfig(placeholderFree({ ...configMap, ...secret }));
    expect(config.env).toBe('production');
    expect([config.port, config.metricsPort]).toEqual([portOf('http'), portOf('metrics')]);
  });

  it('probe paths the service serves', () => {
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect(servedPaths).toContain(container[probe].httpGet.path);
      expect(portOf(container[probe].httpGet.port)).toBeDefined();
    }
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  });

  it('wire the Service and ServiceMonitor to ports the container has', () => {
    const service = manifest('Service');
    for (const port of service.spec.ports) expect(portOf(port.targetPort)).toBeDefined();
    const monitor = manifest('ServiceMonitor');
    expect(service.spec.ports.map((port: { name: string }) => port.name)).toContain(monitor.spec.endpoints[0].port);
    expect(servedPaths).toContain(monitor.spec.endpoints[0].path);
  });

  it('run as non-root with a read-only root filesystem and no privilege escalation', () => {
    for (const kind of ['Deployment', 'Job']) {
      const pod = manifest(kind).spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    }
    expect(manifest('Deployment').spec.template.spec.containers[0].lifecycle.preStop).toBeDefined();
  });

  it('migrate with a command the CLI has', () => {
    expect(manifest('Job').spec.template.spec.containers[0].command).toEqual(['node', 'bin/token-issuer.js', 'migrate']);
  });
});

describe('docker-compose and .env.example', () => {
  // Compose applies YAML merge keys (`<<: *issuer`).
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Yaml> };
  const example = read('.env.example');
  const exampleVariables = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]!);

  it('.env.example lists every variable the service reads, and no other', () => {
    expect([...new Set(exampleVariables)].sort()).toEqual([...CONFIG_VARIABLES].sort());
    const active = Object.fromEntries([...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]));
    expect(loadConfig(placeholderFree(active)).env).toBe('production');
  });

  it('publishes the issuer replicas on the port the service listens on', () => {
    const port = loadConfig(Object.fromEntries([...example.matchAll(/^(PORT)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]))).port;
    for (const name of ['issuer-1', 'issuer-2']) {
      expect(compose.services[name].env_file).toBe('.env');
      expect(compose.services[name].ports[0]).toMatch(new RegExp(`:${port}$`));
    }
    expect(compose.services.migrate.command).toEqual(['node', 'bin/token-issuer.js', 'migrate']);
  });

  it('has a local profile on plain http, marked not for production, that loads as a development configuration', () => {
    const localFile = read('docker-compose.local.yml');
    expect(localFile.split('\n')[0]).toContain('NOT FOR PRODUCTION');
    const local = parse(localFile, { merge: true }) as { services: Record<string, Yaml> };
    const active = Object.fromEntries([...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]));
    for (const name of ['migrate', 'issuer-1', 'issuer-2']) {
      // Compose gives `environment` precedence over `env_file`.
      const config = loadConfig(placeholderFree({ ...active, ...local.services[name].environment }));
      expect([name, config.env, config.issuer]).toEqual([name, 'development', 'http://localhost:3001']);
    }
    // The issuer's address is where issuer-1 is published, and what the demo API expects in `iss`.
    const issuer = new URL(local.services['issuer-1'].environment.ISSUER);
    expect(compose.services['issuer-1'].ports[0]).toMatch(new RegExp(`^${issuer.port}:`));
    expect(local.services['demo-api'].environment.ISSUER).toBe(issuer.origin);
  });

  it('the README registers the client the demo API expects', () => {
    const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
    const demo = compose.services['demo-api'].environment;
    const scope = /scopes: \['([^']+)'\]/.exec(read('demo-api', 'server.ts'))![1]!;
    const command = /clients create --name demo[^\n]*\\\n[^\n]*/.exec(readme)?.[0] ?? '';
    expect(command).toContain(`--scopes ${scope} --audiences ${demo.AUDIENCE} `);
  });

  it('gives the demo API only variables it reads, and a JWKS path the issuer serves', () => {
    const demoSource = read('demo-api', 'server.ts');
    const demoReads = [...demoSource.matchAll(/process\.env\.([A-Z_]+)/g)].map((match) => match[1]);
    for (const name of Object.keys(compose.services['demo-api'].environment)) expect(demoReads).toContain(name);
    expect(servedPaths).toContain(new URL(compose.services['demo-api'].environment.JWKS_URI).pathname);
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('puts the token-issuer command on the PATH, as the docs use it', () => {
    expect(dockerfile).toMatch(/^RUN ln -s \/app\/bin\/token-issuer\.js \/usr\/local\/bin\/token-issuer$/m);
    expect(dockerfile.indexOf('ln -s /app/bin/token-issuer.js')).toBeLessThan(dockerfile.indexOf('USER node'));
  });

  it('exposes the default port, checks /healthz, stops with SIGTERM and runs as node', () => {
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${loadConfig({}).port}$`, 'm'));
    expect(servedPaths).toContain('/healthz');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('caps the V8 heap well under the memory limit of the Kubernetes deployment, in options Node accepts', async () => {
    const options = imageNodeOptions();
    const heapCapMb = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
    const limit = /^(\d+)Mi$/.exec(manifest('Deployment').spec.template.spec.containers[0].resources.limits.memory as string);
    // The old space is most of the heap, not all of the process: young space, code, argon2 and sockets add to it.
    expect(heapCapMb * 2).toBeLessThanOrEqual(Number(limit?.[1]));
    const result = await runCommand(
      process.execPath,
      ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'],
      { NODE_OPTIONS: options },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(Number(result.stdout) / 2 ** 20).toBeLessThan(heapCapMb * 1.5);
  });

  it('copies only paths that exist', () => {
    for (const [, source] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) {
      for (const path of source!.split(' ')) expect(existsSync(join(repositoryRoot, path)), path).toBe(true);
    }
  });
});

describe('docs/configuration.md', () => {
  const reference = readFileSync(join(repositoryRoot, 'docs', 'configuration.md'), 'utf8');
  /** The table: variable name -> its Default cell (a row may name several variables). */
  const rows = new Map(
    [...reference.matchAll(/^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \| ([^|]*) \|/gm)].flatMap((match) =>
      [...match[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((name) => [name[1]!, match[2]!.trim()] as const),
    ),
  );
  /** Node's own, documented beside ours because they matter to running the service. */
  const nodeVariables = ['NODE_OPTIONS', 'UV_THREADPOOL_SIZE'];

  it('documents every variable the service reads, and no other', () => {
    expect([...rows.keys()].filter((name) => !nodeVariables.includes(name)).sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it("gives each variable the schema's own default", () => {
    const defaults = configDefaults();
    // The cell starts with the value in backticks; words after it may explain it ("`604800` (7 days)").
    const documents = (cell: string | undefined, value: unknown) =>
      cell === `\`${String(value)}\`` || !!cell?.startsWith(`\`${String(value)}\` `);
    const wrong = CONFIG_VARIABLES.filter((name) => defaults[name] !== undefined && !documents(rows.get(name), defaults[name]));
    expect(wrong.map((name) => `${name}: documented ${rows.get(name)}, default ${String(defaults[name])}`)).toEqual([]);
  });
});

describe('the Grafana dashboard and the Prometheus alert rules', () => {
  /** Metric names in PromQL: a histogram's series by their base name. */
  const queried = (expressions: string[]) =>
    expressions.flatMap((expression) =>
      [...expression.matchAll(/\b((?:token_issuer|nodejs|process)_[a-z0-9_]+)/g)].map((match) =>
        match[1]!.replace(/_(bucket|count|sum)$/, ''),
      ),
    );

  it('query only metrics the service exposes, and every alert has a severity', async () => {
    const metrics = createMetrics({
      denylist: { size: () => 0, staleness: () => 0 },
      passwordHashQueueDepth: () => 0,
      signingKeyActivatedAt: () => Date.now(),
      databasePool: { size: 10, inUse: () => 0 },
      dependencies: async () => ({ database: true }),
    });
    const exposed = new Set([...(await metrics.registry.metrics()).matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!));
    const rules = (
      manifest('PrometheusRule').spec.groups as { rules: { alert: string; expr: string; labels: { severity?: string } }[] }[]
    ).flatMap((group) => group.rules);
    const dashboard = JSON.parse(read('grafana', 'token-issuer-dashboard.json')) as { panels: { targets: { expr: string }[] }[] };
    const names = new Set([
      ...queried(rules.map((rule) => rule.expr)),
      ...queried(dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr))),
    ]);
    expect(names.size).toBeGreaterThan(10);
    for (const name of names) expect(exposed.has(name), `${name} is not in /metrics`).toBe(true);
    expect(rules.every((rule) => ['critical', 'warning', 'info'].includes(rule.labels.severity ?? ''))).toBe(true);
    expect(manifest('Kustomization').resources).toContain('prometheusrule.yaml');
  });
});
