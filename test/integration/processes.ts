// Real processes for fault tests: a worker in a process of its own (to kill -9), and the stack's
// services stopped and started again with scripts/stack.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireEnv } from '../helpers.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** Newest modification time of the sources under these folders. */
function newestSource(dirs: string[]): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const d of dirs) walk(join(repo, d));
  return newest;
}

/**
 * The worker as `make build` made it (`node dist/worker/main.js`, its workflows bundled once) when
 * that build is newer than every source; `worker/main.ts` through tsx otherwise (it bundles the
 * workflows at each start, about 2 s more).
 */
function workerEntry(): { script: string; loader: string[] } {
  const built = join(repo, 'dist/workflow-bundle.js');
  const sources = ['activities', 'client', 'common', 'worker', 'workflows'];
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(sources)) {
    return { script: 'dist/worker/main.js', loader: [] };
  }
  return { script: 'worker/main.ts', loader: ['--import', 'tsx'] };
}

/** Starts the worker in its own process, and resolves once it polls its task queue. */
export function startWorkerProcess(
  taskQueue: string,
  hostName: string,
  env: NodeJS.ProcessEnv = {},
): Promise<WorkerProcess> {
  const { script, loader } = workerEntry();
  const args = ['--task-queue', taskQueue, '--host-name', hostName];
  return startProcess(script, args, 'podman-tracker worker:', env, loader);
}

/** Runs a file of this repository in its own process (TypeScript through tsx); resolves once it prints `ready`. */
export async function startProcess(
  script: string,
  args: string[],
  ready: string,
  env: NodeJS.ProcessEnv = {},
  loader = ['--import', 'tsx'],
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [...loader, join(repo, script), ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // PODMAN_TRACKER_TEST_WORKER_LOGS=DIR keeps each process's output, killed ones' included.
  const logs = process.env.PODMAN_TRACKER_TEST_WORKER_LOGS;
  if (logs) {
    mkdirSync(logs, { recursive: true });
    const file = createWriteStream(join(logs, `${Date.now()}-${child.pid}.log`));
    child.stdout!.pipe(file);
    child.stderr!.pipe(file);
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${out}`)));
  });
  return {
    child,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const stackDir = () => requireEnv('PODMAN_TRACKER_STACK_DIR');

/** Stops one of the stack's services (podman, temporal, registry) the way a crash or an operator would. */
export async function stopService(name: 'podman' | 'temporal', signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = Number((await readFile(join(stackDir(), 'pids', `${name}.pid`), 'utf8')).trim());
  const gone = async (tries: number) => {
    for (let i = 0; i < tries; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  process.kill(pid, signal);
  if (await gone(200)) return;
  // A shutdown slower than 20 s (a loaded machine) still stops it, so the test goes on.
  process.kill(pid, 'SIGKILL');
  if (!(await gone(50))) throw new Error(`${name} (pid ${pid}) did not stop`);
}

/** Brings every stopped service of the stack back, as `scripts/stack up` does. */
export async function stackUp(): Promise<void> {
  await run(join(repo, 'scripts/stack'), ['up'], { cwd: repo, env: process.env });
}
