// `make demo`: the product at work on the local stack. Starts a worker in the background (it
// stays up for you to try the CLI), runs an array job with a progress bar, suspends and resumes one
// task on the way, runs a container as a function call, and ends with a summary table.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { PodmanTracker } from '../client/tracker.js';
import { progress } from '../cli/progress.js';
import { dataConverterFromEnv } from '../common/data-converter.js';
import { configFromEnv } from '../worker/worker.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const stackDir = process.env.PODMAN_TRACKER_STACK_DIR ?? join(repo, '.stack');
const config = configFromEnv();
const image = process.env.PODMAN_TRACKER_TEST_IMAGE ?? 'localhost/podman-tracker/busybox:latest';
const TASKS = 12;
const MAX_PARALLEL = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The worker a previous demo left running, or a new one. */
function startWorker(): number {
  const pidFile = join(stackDir, 'pids', 'worker.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      // gone: start another
    }
  }
  const log = openSync(join(stackDir, 'logs', 'worker.log'), 'a');
  const child = spawn(process.execPath, [join(repo, 'bin/podman-tracker'), 'worker'], {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  closeSync(log);
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid!;
}

console.log(
  `podman-tracker demo\n  Podman:   ${config.podmanUri}\n  Temporal: ${config.temporal.address} (namespace ${config.temporal.namespace})`,
);
const workerPid = startWorker();
console.log(
  `  worker:   pid ${workerPid}, task queue ${config.taskQueue} (log: ${join(stackDir, 'logs', 'worker.log')})\n`,
);

const connection = await Connection.connect({ address: config.temporal.address });
const tracker = new PodmanTracker({
  // The worker inherits this environment: with PODMAN_TRACKER_ENCRYPTION_KEY set, both encrypt.
  client: new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverterFromEnv() }),
  session: 'demo',
  taskQueue: config.taskQueue,
});

// 1. An array job: each task crunches its own share and reports a checksum; one in six fails.
const arrayId = await tracker.addArrayJob(
  {
    jobCategory: image,
    remoteCommand: 'sh',
    args: ['-c', 'sleep $((TASK_ID % 3 + 2)); echo "task $TASK_ID: $(seq 1 $((TASK_ID * 1000)) | md5sum | cut -c1-8)"; [ $((TASK_ID % 6)) -ne 0 ]'],
  },
  1,
  TASKS,
  1,
  MAX_PARALLEL,
); // prettier-ignore
console.log(`array job ${arrayId}: ${TASKS} tasks, at most ${MAX_PARALLEL} at once`);
const tasks = await tracker.listArrayJobs(arrayId);

// 2. On the way: suspend one running task, then resume it.
const target = tasks[1]!;
const bar = progress(process.stdout, TASKS);
let suspended = false;
const notes: string[] = [];
for (;;) {
  const info = await tracker.arrayInfo(arrayId);
  bar.update(info);
  if (!suspended && (await tracker.jobState(target)).state === 'running') {
    suspended = true;
    notes.push(`suspend ${target} -> ${(await tracker.jobControl(target, 'suspend')).state}`);
    await sleep(1500);
    notes.push(`resume  ${target} -> ${(await tracker.jobControl(target, 'resume')).state}`);
  }
  if (info.done + info.failed === info.total) break;
  await sleep(300);
}
bar.stop();
for (const n of notes) console.log(n);

// 3. A container as a function call: input by args and environment, output by stdout and status.
const fn = await tracker.addJob({
  jobCategory: image,
  remoteCommand: 'sh',
  args: ['-c', 'echo "$GREETING from $(hostname): $(echo "$@" | tr a-z A-Z)"', 'fn', 'durable', 'containers'],
  jobEnvironment: { GREETING: 'hello' },
  candidateMachines: ['function-box'],
});
const fnResult = await tracker.result(fn);
console.log(`\nfunction-style run (exit ${fnResult.info.exitStatus}): ${fnResult.stdout.trim()}\n`);

// 4. Summary.
const rows = await Promise.all(
  tasks.map(async (t) => {
    const r = await tracker.result(t);
    return {
      task: t.slice(arrayId.length + 1),
      state: r.info.state,
      'exit status': r.info.exitStatus,
      'wallclock (s)': ((r.info.wallclockTime ?? 0) / 1000).toFixed(1),
      output: r.stdout.trim(),
    };
  }),
);
console.table(rows);

const ui =
  process.env.PODMAN_TRACKER_UI === '1' ? `http://127.0.0.1:${process.env.PODMAN_TRACKER_UI_PORT ?? 8233}` : undefined;
console.log(`
Look next:
  ${ui ? `Temporal UI: ${ui}` : 'Temporal UI: off (PODMAN_TRACKER_UI=1 make demo turns it on)'}
  eval "$(scripts/stack env)"; export PODMAN_TRACKER_SESSION=demo
  bin/podman-tracker list                       # the demo's jobs
  bin/podman-tracker info ${tasks[0]}
  bin/podman-tracker run --image ${image} -- echo hi
  bin/podman-tracker submit-array --begin 1 --end 20 --max-parallel 5 --wait --image ${image} -- sh -c 'sleep 1'
Stop everything (the worker, the stack): scripts/stack down`);
await connection.close();
