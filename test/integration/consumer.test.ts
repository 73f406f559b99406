// The npm package as a Temporal user gets it: packed, installed into a new ESM project of its own
// (examples/consumer, the README's "Using the library"), type-checked against the package's .d.ts,
// its worker on PodmanTrackerPlugin, a workflow of its own running a container, and the bin.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEnv, uniqueSession } from '../helpers.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const example = join(repo, 'examples/consumer');
const image = requireEnv('PODMAN_TRACKER_TEST_IMAGE');

/** Newest .ts source of the package, to tell whether dist/ is current. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, e.name)).mtimeMs);
    }
  };
  for (const d of ['activities', 'cli', 'client', 'common', 'worker', 'workflows']) walk(join(repo, d));
  return Math.max(newest, statSync(join(repo, 'index.ts')).mtimeMs);
}

describe('the npm package in a project of its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podman-tracker-consumer-'));
  const project = join(dir, 'app');
  const taskQueue = `test-consumer-${uniqueSession('q')}`;
  let tarball = '';
  let worker: ChildProcess | undefined;
  let workerLog = '';
  const env = () => ({ ...process.env, TASK_QUEUE: taskQueue, IMAGE: image, PODMAN_TRACKER_TASK_QUEUE: taskQueue });
  /** Runs a command in the app's folder; a failure shows what it printed. */
  const inProject = (cmd: string, args: string[]) =>
    run(cmd, args, { cwd: project, env: env(), maxBuffer: 16 << 20, timeout: 240_000 }).catch(
      (err: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
      },
    );

  beforeAll(async () => {
    // npm pack runs prepack (the build); make test has just built, so a current dist/ is packed as it is.
    const built = join(repo, 'dist/workflow-bundle.js');
    const fresh = existsSync(built) && statSync(built).mtimeMs >= newestSource();
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--pack-destination', dir, ...(fresh ? ['--ignore-scripts'] : [])],
      {
        cwd: repo,
        maxBuffer: 16 << 20,
      },
    );
    tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    cpSync(example, project, { recursive: true, filter: (p) => !/node_modules|[/\\]dist$/.test(p) });
    await inProject('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball]);
  }, 300_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGINT');
      await new Promise((r) => worker!.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships the build and the docs, not the sources, tests or benchmarks', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/workflows/index.js');
    expect(files).toContain('package/dist/workflow-bundle.js');
    expect(files).toContain('package/README.md');
    expect(files.filter((f) => /^package\/(test|bench|examples|scripts|dist\/scripts)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('holds one copy of @temporalio/workflow, the peer the app itself uses', async () => {
    const { stdout } = await inProject('npm', ['ls', '@temporalio/workflow', '--all', '--parseable']);
    expect(stdout.split('\n').filter(Boolean)).toEqual([join(project, 'node_modules/@temporalio/workflow')]);
  });

  it("type-checks the app's code against the package's types, with no import into the repository", async () => {
    for (const f of readdirSync(join(project, 'src'))) {
      const text = readFileSync(join(project, 'src', f), 'utf8');
      for (const [, spec] of text.matchAll(/from '([^']+)'/g))
        expect(spec, f).toMatch(/^(\.\/|node:|@temporalio\/|podman-tracker)/);
    }
    await inProject('npx', ['tsc', '-p', '.']);
    expect(existsSync(join(project, 'dist/worker.js'))).toBe(true);
  });

  it("runs a workflow of the app's that runs a container, on a worker with PodmanTrackerPlugin", async () => {
    worker = spawn(process.execPath, ['dist/worker.js'], {
      cwd: project,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => (workerLog += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));
    const { stdout } = await inProject(process.execPath, ['dist/client.js']).catch((err: Error) => {
      throw new Error(`${err.message}\nworker:\n${workerLog}`);
    });
    const [greeting, job] = stdout.trim().split('\n');
    expect(greeting).toBe('hello world');
    // The DRMAA2 job by PodmanTracker from the package root: failed, with its own exit status.
    expect(job).toMatch(/^default\.\S+ failed 3$/);
    // The plugin serves the host's activity queue beside the app's: the job's later activities ran there.
    expect(workerLog).toContain(`${taskQueue}@`);
  }, 120_000);

  it('runs `npx podman-tracker run` from the installed bin, against that worker', async () => {
    const { stdout } = await inProject('npx', ['podman-tracker', 'run', '--image', image, '--', 'echo', 'hi']);
    expect(stdout).toBe('hi\n');
  }, 60_000);

  it('serves CommonJS callers too (require of an ES module, Node 22.12 and newer)', async () => {
    const { stdout } = await inProject(process.execPath, [
      '-e',
      "const p = require('podman-tracker'); console.log(typeof p.PodmanTracker, typeof p.PodmanTrackerPlugin, new p.DrmaaError('Timeout', 'x').kind)",
    ]);
    expect(stdout.trim()).toBe('function function Timeout');
  });

  it('stops its worker on SIGINT, as a Temporal worker does', async () => {
    expect(worker?.exitCode).toBeNull();
    const exited = new Promise<number | null>((r) => worker!.once('exit', (code) => r(code)));
    worker!.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 30_000);
});
