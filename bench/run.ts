// `make bench`: every case beside its raw-Podman baseline, measured in the same run, repeated to
// quote a median and the spread. A table goes to stdout, JSON to bench/results/.
// Cases 7 and 8 (bench/commands.ts) time the command a user types. Sizes: BENCH_REPEAT (15), BENCH_ARRAY_TASKS (200), BENCH_ARRAY_REPEAT (3), BENCH_SCALE_TASKS
// (1000), BENCH_BURST (500), BENCH_IDLE_JOBS (20), BENCH_IDLE_SECONDS (20); BENCH_SMOKE=1 shrinks them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { PodmanTracker } from '../client/tracker.js';
import { cpuSeconds, diff, formatStats, num, stackPid, stats, type Row, type Stats } from './measure.js';
import { commandCases, streamingCase, type CommandBench } from './commands.js';
import { startProxy } from './proxy.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through \`make bench\``);
  return v;
};
const smoke = process.env.BENCH_SMOKE === '1';
const size = (name: string, normal: number, tiny: number) => Number(process.env[name] ?? (smoke ? tiny : normal));
const REPEAT = size('BENCH_REPEAT', 15, 3);
const ARRAY_TASKS = size('BENCH_ARRAY_TASKS', 200, 8);
/** Rounds of case 2 at each parallelism, ours and raw in turn: its median and spread. */
const ARRAY_REPEAT = size('BENCH_ARRAY_REPEAT', 3, 1);
const SCALE_TASKS = size('BENCH_SCALE_TASKS', 1000, 16);
const BURST = size('BENCH_BURST', 500, 20);
const IDLE_JOBS = size('BENCH_IDLE_JOBS', 20, 3);
const IDLE_SECONDS = size('BENCH_IDLE_SECONDS', 20, 3);
/** BENCH_CASES=1,2 runs only those cases. */
const CASES = new Set((process.env.BENCH_CASES ?? '1,2,3,4,5,6,7,8').split(',').map(Number));

const image = env('PODMAN_TRACKER_TEST_IMAGE');
const socket = env('PODMAN_TRACKER_PODMAN_SOCKET');
const stackDir = env('PODMAN_TRACKER_STACK_DIR');
const podmanArgs = ['--remote', '--url', `unix://${socket}`];
const now = () => performance.now();
/** Milliseconds that an awaited call took. */
const timed = async (call: () => Promise<unknown>) => {
  const t0 = now();
  await call();
  return now() - t0;
};
/** `true`, removed once its result is in: the same work as `podman run --rm IMAGE true`. */
const TRUE_JOB = { jobCategory: image, remoteCommand: 'true', extension: { extensionList: { rm: 'true' } } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function podman(...args: string[]) {
  return run('podman', [...podmanArgs, ...args], { maxBuffer: 64 << 20 });
}

/** Seconds for N `podman run --rm` at parallelism P: the raw limit. */
async function rawParallel(n: number, p: number): Promise<number> {
  const t0 = now();
  await run('sh', ['-c', `seq ${n} | xargs -P ${p} -I{} podman ${podmanArgs.join(' ')} run --rm ${image} true`]);
  return (now() - t0) / 1000;
}

/** The Go tracker's array job: create+start one container after another, then wait for all. */
async function goTrackerLoop(n: number): Promise<number> {
  const t0 = now();
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push((await podman('run', '-d', '--label', 'bench=go-loop', image, 'true')).stdout.trim());
  await podman('wait', ...ids);
  const seconds = (now() - t0) / 1000;
  await podman('rm', ...ids);
  return seconds;
}

function sum(xs: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function cpuPerTask(used: Record<string, number>, tasks: number): string {
  return Object.entries(used)
    .map(([k, v]) => `${k} ${((v * 1000) / tasks).toFixed(0)}`)
    .join(', ');
}

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** A worker process on its own task queue, against the given Podman socket. */
async function startWorker(socketPath: string, taskQueue: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the worker.
      ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      join(repo, 'bin/podman-tracker'),
      'worker',
      '--podman',
      `unix://${socketPath}`,
    ],
    {
      env: { ...process.env, PODMAN_TRACKER_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('podman-tracker worker:') && resolve());
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return child;
}

const median = (x: Stats | number) => (typeof x === 'number' ? x : x.median);

async function main() {
  const taskQueue = `bench-${Date.now()}`;
  // The measured worker talks to Podman's socket directly, as raw Podman does; a second worker,
  // behind the counting proxy, serves only the idle-cost case.
  const worker = await startWorker(socket, taskQueue);
  const proxy = await startProxy(join(stackDir, 'bench-proxy.sock'), socket);
  const idleQueue = `${taskQueue}-idle`;
  const idleWorker =
    CASES.has(3) || CASES.has(4) || CASES.has(8) ? await startWorker(proxy.socketPath, idleQueue) : undefined;
  const pids = {
    temporal: await stackPid(stackDir, 'temporal'),
    podman: await stackPid(stackDir, 'podman'),
    worker: worker.pid!,
  };
  const connection = await Connection.connect({ address: env('TEMPORAL_ADDRESS') });
  const tracker = new PodmanTracker({ client: new Client({ connection }), session: `bench-${Date.now()}`, taskQueue });
  const rows: Row[] = [];
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  try {
    // Warm both paths once (image cache, worker's workflow cache, Podman's first-run work).
    await tracker.result(await tracker.addJob(TRUE_JOB));
    await podman('run', '--rm', image, 'true');

    if (CASES.has(1)) {
      // 1. One job, submit to done, against `podman run --rm`, interleaved so drift hits both alike.
      log(`case 1: ${REPEAT} single jobs`);
      const ours: number[] = [];
      const raw: number[] = [];
      const phases = {
        submitToDispatch: [] as number[],
        dispatchToFinish: [] as number[],
        finishToResult: [] as number[],
      };
      for (let i = 0; i < REPEAT; i++) {
        const t0 = now();
        const submitted = Date.now();
        const id = await tracker.addJob(TRUE_JOB);
        const r = await tracker.result(id);
        ours.push(now() - t0);
        const resultAt = Date.now();
        phases.submitToDispatch.push(Date.parse(r.info.dispatchTime!) - submitted);
        phases.dispatchToFinish.push(Date.parse(r.info.finishTime!) - Date.parse(r.info.dispatchTime!));
        phases.finishToResult.push(resultAt - Date.parse(r.info.finishTime!));
        raw.push(await timed(() => podman('run', '--rm', image, 'true')));
      }
      const one = stats(ours);
      const oneRaw = stats(raw);
      rows.push({
        case: '1 single job',
        measure: 'submit to done, ms',
        podmanTracker: one,
        raw: oneRaw,
        ratio: one.median / oneRaw.median,
        target: '<= 1.15x raw',
        met: one.median / oneRaw.median <= 1.15,
        note: `phases (median ms): submit->dispatch ${stats(phases.submitToDispatch).median.toFixed(0)}, dispatch->finish ${stats(phases.dispatchToFinish).median.toFixed(0)}, finish->result ${stats(phases.finishToResult).median.toFixed(0)}`,
      });
    }
    if (CASES.has(2)) {
      // 2. Array throughput at maxParallel 1, 4, 8.
      for (const p of (process.env.BENCH_PARALLEL ?? '1,4,8').split(',').map(Number)) {
        // Rounds of ours then raw, in turn, so that drift over the run hits both alike.
        const ours: number[] = [];
        const raw: number[] = [];
        const cpu = { ours: [] as Record<string, number>[], raw: [] as Record<string, number>[] };
        for (let round = 1; round <= ARRAY_REPEAT; round++) {
          log(`case 2: ${ARRAY_TASKS} tasks at maxParallel ${p}, round ${round} of ${ARRAY_REPEAT}`);
          const t0 = now();
          const cpu0 = await cpuSeconds(pids);
          const id = await tracker.addArrayJob(TRUE_JOB, 1, ARRAY_TASKS, 1, p);
          const res = await tracker.arrayResult(id);
          ours.push(ARRAY_TASKS / ((now() - t0) / 1000));
          const cpu1 = await cpuSeconds(pids);
          if (res.done !== ARRAY_TASKS) throw new Error(`array at ${p}: ${res.done} of ${ARRAY_TASKS} done`);
          raw.push(ARRAY_TASKS / (await rawParallel(ARRAY_TASKS, p)));
          const cpu2 = await cpuSeconds(pids);
          cpu.ours.push(diff(cpu0, cpu1));
          cpu.raw.push(diff(cpu1, cpu2));
        }
        const [oursStats, rawStats] = [stats(ours), stats(raw)];
        const ratio = oursStats.median / rawStats.median;
        const rounds = ours.map((o, i) => `${(o / raw[i]!).toFixed(2)}x`).join(', ');
        rows.push({
          case: `2 array, maxParallel ${p}`,
          measure: `tasks/s, ${ARRAY_TASKS} tasks`,
          podmanTracker: oursStats,
          raw: rawStats,
          ratio,
          target: '>= 1.0x raw',
          met: ratio >= 1.0,
          note: `ratio per round: ${rounds}; CPU ms per task: podman-tracker: ${cpuPerTask(sum(cpu.ours), ARRAY_TASKS * ARRAY_REPEAT)}; raw: ${cpuPerTask(sum(cpu.raw), ARRAY_TASKS * ARRAY_REPEAT)}`,
        });
      }
      log(`case 2: Go tracker loop, ${ARRAY_TASKS} tasks`);
      const goTps = ARRAY_TASKS / (await goTrackerLoop(ARRAY_TASKS));
      rows.push({
        case: '2 array, Go tracker loop',
        measure: 'tasks/s',
        podmanTracker: goTps,
        target: 'reference',
        note: 'create+start one after another, then wait',
      });
    }
    if (CASES.has(3) || CASES.has(4)) {
      // 3. Idle cost: requests to Podman's API per job per second while jobs sleep.
      log(`case 3: ${IDLE_JOBS} jobs sleeping, ${IDLE_SECONDS} s counted`);
      const idleTracker = new PodmanTracker({
        client: new Client({ connection }),
        session: `bench-idle-${Date.now()}`,
        taskQueue: idleQueue,
      });
      const sleepers = await Promise.all(
        Array.from({ length: IDLE_JOBS }, () =>
          idleTracker.addJob({ jobCategory: image, remoteCommand: 'sleep', args: ['3600'] }),
        ),
      );
      await Promise.all(sleepers.map((j) => idleTracker.wait(j, 120_000, ['running'])));
      await sleep(2000); // let the watchers settle on their event streams
      proxy.reset();
      await sleep(IDLE_SECONDS * 1000);
      const idleRate = proxy.total() / IDLE_JOBS / IDLE_SECONDS;
      const idleDetail = [...proxy.counts()].map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
      rows.push({
        case: '3 idle cost',
        measure: 'requests/job/s',
        podmanTracker: idleRate,
        target: '<= 0.1 (Go Wait: 10)',
        met: idleRate <= 0.1,
        note: `requests: ${idleDetail}`,
      });

      // 4. Control latency on one of the sleepers.
      log(`case 4: ${REPEAT} suspend/resume pairs`);
      const suspend: number[] = [];
      const resume: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        suspend.push(await timed(() => idleTracker.jobControl(sleepers[0]!, 'suspend')));
        resume.push(await timed(() => idleTracker.jobControl(sleepers[0]!, 'resume')));
      }
      for (const [action, ms] of [
        ['suspend', stats(suspend)],
        ['resume', stats(resume)],
      ] as const) {
        rows.push({
          case: `4 control: ${action}`,
          measure: 'ms',
          podmanTracker: ms,
          target: '< 300 ms',
          met: ms.median < 300,
        });
      }
      await Promise.all(sleepers.map((j) => idleTracker.jobControl(j, 'terminate')));
      await Promise.all(sleepers.map((j) => idleTracker.wait(j, 60_000)));
    }
    if (CASES.has(5)) {
      // 5. Scale: a large array at maxParallel 8; the worker's peak memory; history within limits.
      log(`case 5: ${SCALE_TASKS} tasks at maxParallel 8`);
      const t0 = now();
      const big = await tracker.addArrayJob(TRUE_JOB, 1, SCALE_TASKS, 1, 8);
      const bigRes = await tracker.arrayResult(big);
      const bigSeconds = (now() - t0) / 1000;
      if (bigRes.done !== SCALE_TASKS) throw new Error(`scale: ${bigRes.done} of ${SCALE_TASKS} done`);
      const rawBig = await rawParallel(SCALE_TASKS, 8);
      const histories: number[] = [];
      for await (const w of new Client({ connection }).workflow.list({ query: `WorkflowId = '${big}'` }))
        histories.push(w.historyLength);
      const rss = await peakRssMiB(worker.pid!);
      rows.push({
        case: `5 scale, ${SCALE_TASKS} tasks`,
        measure: 'seconds',
        podmanTracker: bigSeconds,
        raw: rawBig,
        ratio: bigSeconds / rawBig,
        target: 'reference: raw xargs -P 8',
      });
      rows.push({
        case: '5 worker peak memory',
        measure: 'MiB',
        podmanTracker: rss,
        target: '< 300 MB',
        met: rss < 300,
      });
      rows.push({
        case: '5 array history',
        measure: 'events (longest run)',
        podmanTracker: Math.max(...histories),
        target: '< 51,200',
        met: Math.max(...histories) < 51_200,
        note: `${histories.length} runs`,
      });
    }
    if (CASES.has(6)) {
      // 6. Submission burst: BURST submits from 10 clients at once.
      log(`case 6: ${BURST} submits from 10 clients`);
      const clients = await Promise.all(
        Array.from({ length: 10 }, () => Connection.connect({ address: env('TEMPORAL_ADDRESS') })),
      );
      const burstSession = `burst-${Date.now()}`;
      const t0 = now();
      const ids = (
        await Promise.all(
          clients.map(async (c) => {
            const t = new PodmanTracker({ client: new Client({ connection: c }), session: burstSession, taskQueue });
            const mine: string[] = [];
            for (let i = 0; i < BURST / 10; i++) mine.push(await t.addJob(TRUE_JOB));
            return mine;
          }),
        )
      ).flat();
      const acceptSeconds = (now() - t0) / 1000;
      const burstTracker = new PodmanTracker({ client: new Client({ connection }), session: burstSession, taskQueue });
      const finals = await Promise.all(ids.map((id) => burstTracker.result(id)));
      const allSeconds = (now() - t0) / 1000;
      const done = finals.filter((r) => r.info.state === 'done').length;
      await Promise.all(clients.map((c) => c.close()));
      rows.push({
        case: `6 burst, ${BURST} submits`,
        measure: 'seconds to accept all',
        podmanTracker: acceptSeconds,
        target: 'all accepted, none lost',
        met: new Set(ids).size === BURST && done === BURST,
        note: `${done}/${BURST} done after ${allSeconds.toFixed(1)} s`,
      });
    }
    const commandBench: CommandBench = {
      repo,
      image,
      podmanArgs,
      taskQueue,
      session: tracker.session,
      repeat: REPEAT,
      log,
    };
    if (CASES.has(7)) rows.push(...(await commandCases(commandBench, tracker)));
    if (CASES.has(8)) rows.push(await streamingCase(commandBench, idleQueue, proxy));
  } finally {
    worker.kill('SIGTERM');
    idleWorker?.kill('SIGTERM');
    await connection.close();
    await proxy.close();
    await podman('rm', '-f', '--filter', 'label=bench=go-loop').catch(() => undefined);
  }

  const fmt = (x: Stats | number | undefined) =>
    x === undefined ? '' : typeof x === 'number' ? num(x) : formatStats(x);
  console.table(
    rows.map((r) => ({
      case: r.case,
      measure: r.measure,
      'podman-tracker': fmt(r.podmanTracker),
      'raw podman': fmt(r.raw),
      ratio: r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
      target: r.target,
      met: r.met === undefined ? '' : r.met ? 'yes' : 'NO',
    })),
  );
  for (const r of rows.filter((r) => r.note)) console.log(`${r.case}: ${r.note}`);
  const outDir = join(repo, 'bench/results');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        smoke,
        sizes: { REPEAT, ARRAY_TASKS, ARRAY_REPEAT, SCALE_TASKS, BURST, IDLE_JOBS, IDLE_SECONDS },
        rows,
        median: rows.map((r) => median(r.podmanTracker)),
      },
      null,
      2,
    ),
  );
  console.log(`\nJSON: ${file}`);
}

await main();
