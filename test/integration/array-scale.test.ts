// The array-job workflow over many tasks (1,000 in make test, 10,000 in make test-scale) on a real
// Temporal dev server, each task a stand-in job workflow (no containers; tests of real containers
// run smaller arrays): every task runs once,
// maxParallel holds and is reached, and every run's history stays within Temporal's limits
// because the array job continues as new.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PodmanTracker } from '../../client/tracker.js';
import type { StandInActivities } from '../fixtures/scale-workflows.js';
import { workflowSource } from '../../worker/workflow-code.js';
import { createTaskActivities } from '../../activities/tasks.js';
import { requireEnv, uniqueSession } from '../helpers.js';

const TASKS = Number(process.env.PODMAN_TRACKER_SCALE_TASKS ?? 1_000);
const MAX_PARALLEL = 50;
const session = uniqueSession('scale');
const taskQueue = `test-${session}`;
let worker: Worker;
let run: Promise<void>;
let native: NativeConnection;
let connection: Connection;

let active = 0;
let peak = 0;
const ran = new Map<string, number>();
// The first tasks hold their slots until maxParallel run at once (or a minute passes: then the peak
// falls short and the test says so), so reaching it does not hang on how fast this machine starts them.
let fill!: () => void;
const filled = new Promise<void>((r) => (fill = r));
const activities: StandInActivities = {
  async runContainer(jobId) {
    ran.set(jobId, (ran.get(jobId) ?? 0) + 1);
    peak = Math.max(peak, ++active);
    if (active === MAX_PARALLEL) fill();
    if (ran.size <= MAX_PARALLEL) await Promise.race([filled, new Promise((r) => setTimeout(r, 60_000).unref())]);
    else await new Promise((r) => setTimeout(r, 500)); // later tasks overlap as slots free and refill
    active--;
  },
};

beforeAll(async () => {
  const address = requireEnv('TEMPORAL_ADDRESS');
  native = await NativeConnection.connect({ address });
  worker = await Worker.create({
    connection: native,
    taskQueue,
    ...workflowSource(fileURLToPath(new URL('../fixtures/scale-workflows.ts', import.meta.url))),
    activities: { ...activities, ...createTaskActivities() },
    maxConcurrentActivityTaskExecutions: 500,
  });
  run = worker.run();
  connection = await Connection.connect({ address });
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await run;
  await native?.close();
  await connection?.close();
});

it(`runs ${TASKS} tasks, each once, maxParallel at a time, within Temporal's history limits`, async () => {
  const client = new Client({ connection });
  const tracker = new PodmanTracker({ client, session, taskQueue });
  const started = Date.now();
  const id = await tracker.addArrayJob({ jobCategory: 'standin', remoteCommand: 'true' }, 1, TASKS, 1, MAX_PARALLEL);
  expect(await tracker.listArrayJobs(id)).toHaveLength(TASKS);
  const result = await tracker.arrayResult(id);
  console.log(`${TASKS} stand-in tasks in ${((Date.now() - started) / 1000).toFixed(1)} s, peak ${peak} at once`);

  expect(result).toEqual({ arrayJobId: id, total: TASKS, done: TASKS, failed: [] });
  expect(ran.size).toBe(TASKS);
  expect([...ran.values()].every((n) => n === 1)).toBe(true);
  expect(peak).toBe(MAX_PARALLEL);

  const lengths: number[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) lengths.push(w.historyLength);
  console.log(`array job runs: ${lengths.length}, longest history ${Math.max(...lengths)} events`);
  expect(lengths.length).toBeGreaterThanOrEqual(TASKS / 400);
  expect(Math.max(...lengths)).toBeLessThan(10_000); // Temporal's limit: 51,200
}, 900_000);
