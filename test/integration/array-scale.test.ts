// The array-job workflow logic over 10,000 tasks, on a real Temporal dev server, with stand-in
// activities (no containers): every task runs once, maxParallel holds, and the history of every
// run stays within Temporal's limits thanks to continue-as-new.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PodmanActivities } from '../../activities/index.js';
import { PodmanTracker } from '../../client/tracker.js';
import { hostQueue } from '../../workflows/definitions.js';
import { requireEnv, uniqueSession } from '../helpers.js';

const TASKS = Number(process.env.PODMAN_TRACKER_SCALE_TASKS ?? 10_000);
const MAX_PARALLEL = 50;
const session = uniqueSession('scale');
const taskQueue = `test-${session}`;
let workers: Worker[] = [];
let runs: Promise<void>[] = [];
let native: NativeConnection;
let connection: Connection;

// Stand-ins that count what a real Podman would be asked, and how many tasks "run" at once.
let active = 0;
let peak = 0;
const created = new Map<string, number>();
const standIns: Partial<PodmanActivities> = {
  async createAndStartContainer(input) {
    created.set(input.jobId, (created.get(input.jobId) ?? 0) + 1);
    active++;
    peak = Math.max(peak, active);
    return { containerId: input.jobId, name: input.jobId, host: 'standin', dispatchTime: new Date().toISOString() };
  },
  async waitForExit() {
    await new Promise((r) => setTimeout(r, 100)); // long enough for tasks to overlap
    active--;
    return { state: 'done', subState: '' };
  },
  async collectResult(ref) {
    return {
      state: 'done',
      subState: '',
      info: { id: ref.jobId, state: 'done', exitStatus: 0 },
      output: { stdout: '', stderr: '', stdoutTruncated: 0, stderrTruncated: 0 },
    };
  },
};

beforeAll(async () => {
  const address = requireEnv('TEMPORAL_ADDRESS');
  native = await NativeConnection.connect({ address });
  const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
  workers = await Promise.all([
    Worker.create({
      connection: native,
      taskQueue,
      workflowsPath,
      activities: standIns,
      maxConcurrentWorkflowTaskExecutions: 100,
    }),
    Worker.create({ connection: native, taskQueue: hostQueue(taskQueue, 'standin'), activities: standIns }),
  ]);
  runs = workers.map((w) => w.run());
  connection = await Connection.connect({ address });
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.shutdown();
  await Promise.all(runs);
  await native?.close();
  await connection?.close();
});

it(`runs ${TASKS} tasks, each once, never more than maxParallel at a time, within history limits`, async () => {
  const client = new Client({ connection });
  const tracker = new PodmanTracker({ client, session, taskQueue });
  const started = Date.now();
  const id = await tracker.addArrayJob({ jobCategory: 'standin', remoteCommand: 'true' }, 1, TASKS, 1, MAX_PARALLEL);
  const result = await tracker.arrayResult(id);
  const seconds = (Date.now() - started) / 1000;
  console.log(`${TASKS} stand-in tasks in ${seconds.toFixed(1)} s, peak ${peak} at once`);

  expect(result).toEqual({ arrayJobId: id, total: TASKS, done: TASKS, failed: [] });
  expect(created.size).toBe(TASKS);
  expect([...created.values()].every((n) => n === 1)).toBe(true);
  expect(peak).toBeLessThanOrEqual(MAX_PARALLEL);
  expect(peak).toBeGreaterThanOrEqual(MAX_PARALLEL * 0.8); // the array keeps its slots busy

  // Every run of the array job kept its history far from Temporal's 51,200-event limit.
  const lengths: number[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) lengths.push(w.historyLength);
  console.log(`array job runs: ${lengths.length}, longest history ${Math.max(...lengths)} events`);
  expect(lengths.length).toBeGreaterThan(TASKS / 1000);
  expect(Math.max(...lengths)).toBeLessThan(10_000);
}, 900_000);
