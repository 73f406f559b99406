// `make bench-floor`: what Temporal costs per array task with no container at all, in the shape
// podman-tracker uses (each task a workflow of its own: started by a local activity of the array
// job, one local activity, a signal back) and in the cheapest alternative (each task one activity
// of the array job). The worker runs in this process; its CPU and the Temporal server's are read
// per task. Sizes: FLOOR_TASKS (200), FLOOR_PARALLEL (8), FLOOR_ROUNDS (3), FLOOR_TASK_MS (1000).
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { cpuSeconds, diff, formatStats, stackPid, stats } from './measure.js';
import { floorActivities } from './floor-activities.js';

const count = (name: string, normal: number) => Number(process.env[name] ?? normal);
const TASKS = count('FLOOR_TASKS', 200);
const PARALLEL = count('FLOOR_PARALLEL', 8);
const ROUNDS = count('FLOOR_ROUNDS', 3);
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const stackDir = process.env.PODMAN_TRACKER_STACK_DIR;
if (!stackDir) throw new Error('PODMAN_TRACKER_STACK_DIR is not set: run through `make bench-floor`');

Runtime.install({ logger: new DefaultLogger('WARN') });
const taskQueue = `floor-${Date.now()}`;
const worker = await Worker.create({
  connection: await NativeConnection.connect({ address }),
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./floor-workflows.ts', import.meta.url)),
  activities: floorActivities,
});
const running = worker.run();
const client = new Client({ connection: await Connection.connect({ address }) });
const pids = {
  temporal: await stackPid(stackDir, 'temporal'),
  worker: process.pid,
};
const designs = ['workflowPerTask', 'activityPerTask'] as const;
const runArray = (design: string, tasks: number, id: string) =>
  client.workflow.execute(design, { taskQueue, workflowId: id, args: [tasks, PARALLEL] });

for (const d of designs) await runArray(d, PARALLEL, `${taskQueue}-warm-${d}`); // bundle loaded, connections open
const per: Record<string, { temporal: number[]; worker: number[]; tps: number[] }> = {};
for (let round = 1; round <= ROUNDS; round++) {
  for (const d of designs) {
    const t0 = performance.now();
    const before = await cpuSeconds(pids);
    await runArray(d, TASKS, `${taskQueue}-${d}-${round}`);
    const used = diff(before, await cpuSeconds(pids));
    const seconds = (performance.now() - t0) / 1000;
    const p = (per[d] ??= { temporal: [], worker: [], tps: [] });
    p.temporal.push((used.temporal! * 1000) / TASKS);
    p.worker.push((used.worker! * 1000) / TASKS);
    p.tps.push(TASKS / seconds);
  }
}
console.log(
  `${TASKS} tasks that sleep ${process.env.FLOOR_TASK_MS ?? 1000} ms, maxParallel ${PARALLEL}, ${ROUNDS} rounds; median (min-max)`,
);
console.table(
  designs.map((d) => ({
    design: d,
    'Temporal server CPU ms/task': formatStats(stats(per[d]!.temporal)),
    'worker CPU ms/task': formatStats(stats(per[d]!.worker)),
    'tasks/s': formatStats(stats(per[d]!.tps)),
  })),
);
worker.shutdown();
await running;
