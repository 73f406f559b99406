// docker-compose.yml and the worker image, checked as a user would before `docker compose up`:
// no Docker engine is needed, the files are parsed and compared with the sources they run.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NO_POWERS } from '../../common/powers.js';
import { configFromEnv } from '../../worker/worker.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(path.join(repo, file), 'utf8');

type Scalar = string | number | boolean | null;
interface PortLong {
  target: number | string;
  published?: number | string;
  host_ip?: string;
  protocol?: string;
}
interface VolumeLong {
  type: string;
  source?: string;
  target: string;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, Scalar> | string[];
  ports?: (string | number | PortLong)[];
  volumes?: (string | VolumeLong)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  stop_signal?: string;
  stop_grace_period?: string;
}
interface Compose {
  name?: string;
  version?: unknown;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// ------------------------------------------------------------ compose parsing ---

/** Compose's variable interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare)!;
      const v = env[name];
      const missing = colon ? !v : v === undefined;
      if (!op || !missing) return v ?? '';
      if (op === '-') return interpolate(arg ?? '', env);
      throw new Error(`\${${name}} is required: ${arg}`);
    },
  );
}

function interpolateAll(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, env));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  }
  return node;
}

const composeText = read('docker-compose.yml');

/** The stack as Compose would see it with the given variables (none set: every default). */
function loadCompose(env: Record<string, string | undefined> = {}): Compose {
  return interpolateAll(parse(composeText), env) as Compose;
}

function environmentOf(s: Service): Record<string, string> {
  const e = s.environment ?? {};
  if (Array.isArray(e)) {
    return Object.fromEntries(
      e.map((kv) => {
        const i = kv.indexOf('=');
        return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

interface Port {
  hostIp: string | undefined;
  published: string | undefined;
  target: string;
  protocol: string;
}

function portsOf(s: Service): Port[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return {
        hostIp: p.host_ip,
        published: p.published === undefined ? undefined : String(p.published),
        target: String(p.target),
        protocol: p.protocol ?? 'tcp',
      };
    }
    const [spec, protocol = 'tcp'] = String(p).split('/') as [string, string?];
    // [HOST_IP:][HOST_PORT:]CONTAINER_PORT, the IP possibly an [IPv6] one.
    const m = /^(?:(\[[^\]]*\]|[^:]*):)?(?:([^:]*):)?([^:]+)$/.exec(spec);
    if (!m) throw new Error(`bad port "${String(p)}"`);
    const [, a, b, target] = m;
    const [hostIp, published] = b === undefined ? [undefined, a] : [a, b];
    return { hostIp: hostIp?.replace(/^\[|\]$/g, ''), published, target: target!, protocol };
  });
}

interface Mount {
  type: 'bind' | 'volume';
  source: string | undefined;
  target: string;
}

function mountsOf(s: Service): Mount[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'object') {
      expect(['bind', 'volume']).toContain(v.type);
      return { type: v.type as Mount['type'], source: v.source, target: v.target };
    }
    const parts = v.split(':');
    if (parts.length === 1) return { type: 'volume', source: undefined, target: parts[0]! };
    const [source, target] = parts as [string, string];
    return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target };
  });
}

function dependsOn(s: Service): Record<string, string> {
  const d = s.depends_on ?? [];
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v.condition ?? 'service_started']));
}

/** A Compose duration (`30s`, `1m30s`, `500ms`) in milliseconds. */
function durationMs(d: string): number {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)];
  expect(parts.map((p) => p[0]).join(''), `duration "${d}"`).toBe(d);
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u!]!, 0);
}

// ---------------------------------------------------------- the worker's side ---

/** Every environment variable configFromEnv reads, found by handing it an env that records its reads. */
function keysReadBy(values: Record<string, string>): Set<string> {
  const keys = new Set<string>();
  const env = new Proxy(values, {
    get(target, key, receiver) {
      if (typeof key === 'string') keys.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
    has(target, key) {
      if (typeof key === 'string') keys.add(key);
      return Reflect.has(target, key);
    },
  });
  configFromEnv(env);
  return keys;
}

/** Where tsc -p tsconfig.build.json writes the JavaScript of a source file, relative to the repo. */
function buildOutput(source: string): { included: boolean; output: string } {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  };
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repo, 'tsconfig.build.json'), {}, host);
  if (!config) throw new Error('tsconfig.build.json does not parse');
  expect(config.errors).toEqual([]);
  const abs = path.join(repo, source);
  const rootDir = config.options.rootDir ?? repo;
  const outDir = config.options.outDir ?? rootDir;
  return {
    included: config.fileNames.map((f) => path.resolve(f)).includes(abs),
    output: path.relative(repo, path.join(outDir, path.relative(rootDir, abs))).replace(/\.ts$/, '.js'),
  };
}

// ------------------------------------------------------------------ Dockerfile ---

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's instructions by stage: comments dropped, continued lines joined. */
function dockerfileStages(text: string): Instruction[][] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`bad Dockerfile line "${line}"`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]! };
    if (ins.op === 'FROM') stages.push([]);
    const stage = stages.at(-1);
    if (!stage) throw new Error(`"${line}" before the first FROM`);
    stage.push(ins);
  }
  return stages;
}

// ----------------------------------------------------------------------- tests ---

describe('docker-compose.yml', () => {
  const compose = loadCompose();
  const services = compose.services;
  const worker = services.worker!;
  const temporal = services.temporal!;

  it('parses as the Compose spec, with the four services of the stack', () => {
    expect(compose.version, 'the Compose spec has no version key').toBeUndefined();
    expect(Object.keys(services).sort()).toEqual(['postgresql', 'temporal', 'temporal-ui', 'worker']);
  });

  it('gives every service a pinned image or a build context that holds a Dockerfile', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build !== undefined) {
        const build = typeof s.build === 'string' ? { context: s.build } : s.build;
        const context = path.resolve(repo, build.context ?? '.');
        expect(existsSync(context) && statSync(context).isDirectory(), `${name}: build context ${context}`).toBe(true);
        const dockerfile = path.resolve(context, build.dockerfile ?? 'Dockerfile');
        expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
      } else {
        expect(s.image, `${name} has neither image nor build`).toBeTypeOf('string');
        const tag = /^[^@]+:([\w][\w.-]*)$/.exec(s.image!)?.[1];
        expect(tag, `${name}: image ${s.image} has no tag`).toBeDefined();
        expect(tag, `${name}: image ${s.image} is not pinned`).not.toBe('latest');
      }
    }
  });

  it('mounts only repository paths that exist and volumes that are declared', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const m of mountsOf(s)) {
        expect(m.target, `${name}: container path`).toMatch(/^\//);
        if (m.type === 'volume') {
          if (m.source !== undefined) expect(Object.keys(compose.volumes ?? {}), `${name}`).toContain(m.source);
        } else if (m.source && !path.isAbsolute(m.source)) {
          expect(m.source, `${name}: a host path outside the repo`).toMatch(/^\.\.?\//);
          expect(existsSync(path.resolve(repo, m.source)), `${name}: ${m.source} missing`).toBe(true);
        }
      }
    }
  });

  it('names only existing services in depends_on, with health checks where it waits for health', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, condition] of Object.entries(dependsOn(s))) {
        expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
        expect(dep, `${name} depends on itself`).not.toBe(name);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') {
          const hc = services[dep]!.healthcheck;
          expect(hc?.test && !hc.disable, `${name} waits for ${dep} to be healthy, which has no healthcheck`).toBe(
            true,
          );
        }
      }
    }
  });

  it('publishes host ports on 127.0.0.1 only, none twice', () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      portsOf(s).map((p) => {
        expect(p.published, `${name}: container port ${p.target} published on a random port`).toMatch(/^\d+$/);
        expect(p.hostIp, `${name}: port ${p.published} bound beyond this host`).toBe('127.0.0.1');
        return `${p.published}/${p.protocol}`;
      }),
    );
    expect(published.length).toBeGreaterThan(0);
    expect(new Set(published).size, `published ports: ${published.join(', ')}`).toBe(published.length);
  });

  it('sets only environment variables that the worker reads', () => {
    const env = environmentOf(worker);
    const known = new Set([...keysReadBy({}), ...keysReadBy(env)]);
    // The recorder sees what configFromEnv reads: if the worker drops a variable, this test fails.
    expect(known).toContain('TEMPORAL_ADDRESS');
    for (const key of Object.keys(env)) expect(known, `worker environment ${key}`).toContain(key);
    for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'PODMAN_TRACKER_TASK_QUEUE', 'CONTAINER_HOST']) {
      expect(Object.keys(env)).toContain(key);
    }
  });

  it('grants jobs no host powers and leaves encryption off unless the settings say otherwise', () => {
    const config = configFromEnv(environmentOf(worker));
    expect(config.powers).toEqual(NO_POWERS);
    expect(config.encryptionKeys).toEqual([]);
    const granted = configFromEnv(
      environmentOf(
        loadCompose({
          PODMAN_TRACKER_ALLOW_PRIVILEGED: 'true',
          PODMAN_TRACKER_ALLOW_HOST_NAMESPACES: 'net',
          PODMAN_TRACKER_MOUNT_ALLOW: '/srv/jobs',
          PODMAN_TRACKER_IMAGE_ALLOW: 'localhost/podman-tracker/*',
          PODMAN_TRACKER_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        }).services.worker!,
      ),
    );
    expect(granted.powers).toEqual({
      ...NO_POWERS,
      privileged: true,
      hostNamespaces: ['net'],
      bindMounts: true,
      mountAllow: ['/srv/jobs'],
      imageAllow: ['localhost/podman-tracker/*'],
    });
    expect(granted.encryptionKeys).toHaveLength(1);
  });

  /** `host:port` must be a service of the stack and a port its container serves. */
  function expectServiceAddress(address: string, who: string) {
    const m = /^([^:]+):(\d+)$/.exec(address);
    expect(m, `${who}: address ${address}`).not.toBeNull();
    const [, host, port] = m!;
    expect(Object.keys(services), `${who}: ${address} names no service`).toContain(host);
    expect(
      portsOf(services[host!]!).map((p) => p.target),
      `${who}: ${host} serves no port ${port}`,
    ).toContain(port);
  }

  it('points the worker and the UI at the temporal service, in the namespace auto-setup creates', () => {
    const config = configFromEnv(environmentOf(worker));
    expectServiceAddress(config.temporal.address, 'worker');
    expect(config.temporal.address.split(':')[0]).toBe('temporal');
    expectServiceAddress(environmentOf(services['temporal-ui']!).TEMPORAL_ADDRESS ?? '', 'temporal-ui');
    expect(config.temporal.namespace).toBe(environmentOf(temporal).DEFAULT_NAMESPACE ?? 'default');
    expect(config.taskQueue).toBe('podman-tracker');
    expect(config.hostName, 'an unset PODMAN_TRACKER_HOST_NAME lets the worker ask Podman').toBeUndefined();
    expect(
      configFromEnv(environmentOf(loadCompose({ PODMAN_TRACKER_HOST_NAME: 'node-1' }).services.worker!)).hostName,
    ).toBe('node-1');
  });

  it('gives the worker CONTAINER_HOST as the container side of the mounted Podman socket', () => {
    for (const socket of [undefined, '/run/user/1000/podman/podman.sock']) {
      const w = loadCompose({ PODMAN_SOCKET: socket }).services.worker!;
      const uri = configFromEnv(environmentOf(w)).podmanUri;
      const m = /^unix:\/\/(\/.+)$/.exec(uri);
      expect(m, `CONTAINER_HOST ${uri} is not unix:///path`).not.toBeNull();
      const mount = mountsOf(w).find((v) => v.target === m![1]);
      expect(mount, `nothing is mounted at ${m![1]}`).toBeDefined();
      expect(mount!.type).toBe('bind');
      expect(mount!.source).toBe(socket ?? '/run/podman/podman.sock');
    }
  });

  it('stops the worker with SIGTERM and lets its shutdown grace end before the kill', () => {
    const config = configFromEnv(environmentOf(worker));
    expect(worker.stop_signal ?? 'SIGTERM').toBe('SIGTERM');
    expect(worker.stop_grace_period).toBeDefined();
    expect(config.shutdownGraceMs).toBeGreaterThan(0);
    expect(config.shutdownGraceMs).toBeLessThan(durationMs(worker.stop_grace_period!));
  });

  it("mounts Temporal's dynamic config where DYNAMIC_CONFIG_FILE_PATH points, as valid YAML", () => {
    const file = environmentOf(temporal).DYNAMIC_CONFIG_FILE_PATH;
    expect(file).toBeDefined();
    // Relative paths are taken from the image's working directory, /etc/temporal.
    const inContainer = path.posix.resolve('/etc/temporal', file!);
    const mount = mountsOf(temporal)
      .filter((m) => m.type === 'bind' && m.source)
      .find((m) => inContainer === m.target || inContainer.startsWith(m.target + '/'));
    expect(mount, `no mount holds ${inContainer}`).toBeDefined();
    const onHost = path.resolve(repo, mount!.source!, path.posix.relative(mount!.target, inContainer));
    expect(existsSync(onHost), `${onHost}`).toBe(true);
    const config = parse(readFileSync(onHost, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(config).length).toBeGreaterThan(0);
    for (const [key, values] of Object.entries(config)) {
      expect(key).toMatch(/^[a-z]+\.[A-Za-z.]+$/);
      expect(Array.isArray(values) && values.length > 0, `${key}: a list of values`).toBe(true);
      for (const v of values as Record<string, unknown>[]) expect(Object.keys(v)).toContain('value');
    }
  });
});

describe('Dockerfile', () => {
  const stages = dockerfileStages(read('Dockerfile'));
  const runtime = stages.at(-1)!;
  const last = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).at(-1)?.args;

  it('starts the worker from its build output', () => {
    const entry = JSON.parse(last(runtime, 'ENTRYPOINT') ?? 'null') as unknown;
    expect(Array.isArray(entry), 'ENTRYPOINT in exec form, so that the worker gets the stop signal').toBe(true);
    const [node, script] = entry as string[];
    expect(node).toBe('node');
    const { included, output } = buildOutput('worker/main.ts');
    expect(included, 'tsconfig.build.json compiles worker/main.ts').toBe(true);
    expect(output).toBe('dist/worker/main.js');
    // The runtime stage installs the packed package globally (npm's prefix is /usr/local there).
    expect(script).toBe(`/usr/local/lib/node_modules/podman-tracker/${output}`);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; files: string[] };
    expect(pkg.scripts.build).toContain('tsconfig.build.json');
    expect(pkg.scripts.prepack).toContain('npm run build');
    expect(pkg.files.some((f) => output.startsWith(f.replace(/\/$/, '')))).toBe(true);
    expect(stages[0]!.some((i) => i.op === 'RUN' && /\bnpm pack\b/.test(i.args))).toBe(true);
  });

  it('builds in stages on node:24-bookworm-slim and runs as node with the package and its production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage[0]!.args).toMatch(/^node:24-bookworm-slim(\s|$)/);
    expect(last(runtime, 'USER')).toBe('node');
    expect(last(runtime, 'STOPSIGNAL')).toBe('SIGTERM');
    expect(runtime.some((i) => i.op === 'RUN' && /\bnpm install --global --omit=dev\b.*\.tgz/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.op === 'COPY' && /--from=\S+\s+\S*\.tgz\b/.test(i.args))).toBe(true);
  });

  it('leaves node_modules, dist and local state out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.stack', '.git', 'bench/results', 'coverage'])
      expect(ignored).toContain(p);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'worker']) {
      expect(ignored, `${needed} is needed by the build`).not.toContain(needed);
    }
  });
});
