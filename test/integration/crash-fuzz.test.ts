// Crash fuzz: jobs and array jobs under several clients that control, wait and query at random
// moments, while the worker is killed with SIGKILL at random moments and, now and then, Podman's API
// service or the Temporal server restarts. Seeded (PODMAN_TRACKER_FUZZ_SEED; printed), bounded
// (PODMAN_TRACKER_FUZZ_ROUNDS, 5 in make test). Asserts what a user would check:
// every job ends with its own exit status, one container per job or task, no workflow task failed,
// every history replays, and no call failed but with a DRMAA2 error the user can act on.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PodmanTracker } from '../../client/tracker.js';
import { DrmaaError, type ErrorKind } from '../../common/errors.js';
import type { JobControlAction } from '../../common/states.js';
import { failedWorkflowTasks, recordedRuns, replayRuns } from '../histories.js';
import { containersPerJob, removeSession, requireEnv, stack, uniqueSession } from '../helpers.js';
import { stackUp, startWorkerProcess, stopService, type WorkerProcess } from './processes.js';

const ROUNDS = Number(process.env.PODMAN_TRACKER_FUZZ_ROUNDS ?? 5);
const SEED = Number(process.env.PODMAN_TRACKER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 3;
/** How long each round's chaos lasts: the jobs run 1-4 s, so most of them live through some of it. */
const CHAOS_MS = 9000;
/** Errors a user can act on: the state did not allow it, the time ran out, or try again later. */
const ACTIONABLE: readonly ErrorKind[] = ['InvalidState', 'Timeout', 'TryLater', 'DrmCommunication'];

/** mulberry32: a small seeded generator, so a failing seed plays the same plan again. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const job = (script: string) => ({ jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', script] });

interface Expected {
  id: string;
  exit: number;
  /** Set once a client asked to terminate it: it then ends failed/terminated, or as it would have. */
  terminateAsked?: boolean;
}

const session = uniqueSession('fuzz');
const taskQueue = `test-${session}`;
const host = `fuzz-${session}`;
const stats = { rounds: 0, kills: 0, podmanRestarts: 0, temporalRestarts: 0, calls: 0, refused: 0 };
const unexpected: string[] = [];
let connections: Connection[] = [];
let clients: Client[] = [];
let trackers: PodmanTracker[] = [];
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  console.log(`crash fuzz: seed ${SEED}, ${ROUNDS} rounds (PODMAN_TRACKER_FUZZ_SEED=${SEED} plays it again)`);
  connections = await Promise.all(
    Array.from({ length: CLIENTS }, () => Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') })),
  );
  clients = connections.map((connection) => new Client({ connection }));
  trackers = clients.map((client) => new PodmanTracker({ client, session, taskQueue }));
});
afterAll(async () => {
  await worker?.stop();
  await Promise.all(connections.map((c) => c.close()));
  await removeSession(session);
});

/** A client call: a DRMAA2 error a user can act on is an answer; anything else is a finding. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T | DrmaaError> {
  stats.calls++;
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DrmaaError && ACTIONABLE.includes(err.kind)) {
      stats.refused++;
      return err;
    }
    unexpected.push(`${what}: ${err instanceof DrmaaError ? `${err.kind}: ` : ''}${String(err)}`);
    return err as DrmaaError;
  }
}

async function ensureWorker(): Promise<void> {
  worker ??= await startWorkerProcess(taskQueue, host);
}

async function killWorker(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) {
    stats.kills++;
    await w.kill9();
  }
}

it(
  'jobs end with their own exit status, once each, through worker kills and service restarts',
  async () => {
    const rng = generator(SEED);
    const jobs: Expected[] = [];
    const arrays: { id: string; tasks: number[]; failed: number[] }[] = [];
    await ensureWorker();

    for (let round = 0; round < ROUNDS; round++) {
      stats.rounds++;
      const submitter = rng.pick(trackers);
      const mine: Expected[] = [];
      for (let i = 0; i < 4; i++) {
        const exit = rng.int(0, 3);
        const id = await submitter.addJob(job(`sleep ${rng.int(1, 4)}; echo job${i}; exit ${exit}`));
        mine.push({ id, exit });
      }
      jobs.push(...mine);
      const n = rng.int(3, 6);
      const shift = rng.int(0, 2);
      const arrayId = await submitter.addArrayJob(
        job(`sleep 1; exit $(( (TASK_ID + ${shift}) % 3 == 0 ))`),
        1,
        n,
        1,
        rng.int(1, 3),
      );
      const taskNumbers = Array.from({ length: n }, (_, i) => i + 1);
      arrays.push({ id: arrayId, tasks: taskNumbers, failed: taskNumbers.filter((t) => (t + shift) % 3 === 0) });
      const ids = [...mine.map((j) => j.id), ...taskNumbers.map((t) => `${arrayId}.${t}`)];
      const victim = rng.pick(mine);

      // The plan of this round's faults, drawn before anything runs.
      const kills = Array.from({ length: rng.int(1, 2) }, () => ({
        at: rng.int(0, CHAOS_MS - 3000),
        down: rng.int(300, 3000),
      }));
      const service = rng.chance(0.3) ? 'podman' : rng.chance(0.25) ? 'temporal' : undefined;
      const serviceAt = rng.int(1000, CHAOS_MS - 2000);
      const terminateAt = rng.int(0, CHAOS_MS);
      const until = Date.now() + CHAOS_MS;

      const faults = (async () => {
        const steps = [
          ...kills.map((k) => ({
            at: k.at,
            run: async () => {
              await killWorker();
              await sleep(k.down);
              await ensureWorker();
            },
          })),
          ...(service
            ? [
                {
                  at: serviceAt,
                  run: async () => {
                    stats[service === 'podman' ? 'podmanRestarts' : 'temporalRestarts']++;
                    try {
                      await stopService(service, 'SIGKILL');
                      await sleep(1000);
                    } finally {
                      await stackUp();
                    }
                  },
                },
              ]
            : []),
        ].sort((a, b) => a.at - b.at);
        const start = Date.now();
        for (const step of steps) {
          await sleep(Math.max(0, step.at - (Date.now() - start)));
          await step.run();
        }
      })();

      const terminate = (async () => {
        await sleep(terminateAt);
        victim.terminateAsked = true;
        await call(`terminate ${victim.id}`, () => rng.pick(trackers).jobControl(victim.id, 'terminate'));
      })();

      const callers = trackers.map(async (t, c) => {
        const own = generator(SEED + round * 101 + c + 1);
        while (Date.now() < until) {
          await sleep(own.int(150, 900));
          const id = own.pick(ids);
          switch (own.pick(['state', 'info', 'wait', 'waitRunning', 'suspendResume'] as const)) {
            case 'state':
              await call(`state ${id}`, () => t.jobState(id));
              break;
            case 'info':
              await call(`info ${id}`, () => t.jobInfo(id));
              break;
            case 'wait':
              await call(`wait ${id}`, () => t.wait(id, own.int(500, 3000)));
              break;
            case 'waitRunning':
              await call(`wait running ${id}`, () => t.wait(id, own.int(500, 3000), ['running']));
              break;
            case 'suspendResume': {
              const control = (action: JobControlAction) => call(`${action} ${id}`, () => t.jobControl(id, action));
              if ((await control('suspend')) instanceof Error) break;
              await sleep(own.int(100, 1000));
              // Another client's resume may have come first: then this one is refused, as it should be.
              await control('resume');
              break;
            }
          }
        }
      });

      await Promise.all([faults, terminate, ...callers]);
      await ensureWorker();
      // What a user does after a storm: resume what stayed suspended, then wait for everything.
      const reader = trackers[0]!;
      for (const id of ids) {
        const s = await call(`state ${id}`, () => reader.jobState(id));
        if (!(s instanceof Error) && s.state === 'suspended')
          await call(`resume ${id}`, () => reader.jobControl(id, 'resume'));
      }
      await Promise.all(ids.map((id) => call(`final wait ${id}`, () => reader.wait(id, 180_000))));
    }

    // Every job with its own exit status, or terminated as a client asked.
    const reader = trackers[0]!;
    const outcomes = await Promise.all(jobs.map((j) => reader.result(j.id).then((r) => ({ j, info: r.info }))));
    const wrong = outcomes.filter(({ j, info }) =>
      j.terminateAsked && info.subState === 'terminated'
        ? info.state !== 'failed'
        : info.exitStatus !== j.exit || info.state !== (j.exit === 0 ? 'done' : 'failed'),
    );
    const arrayResults = await Promise.all(arrays.map((a) => reader.arrayResult(a.id).then((r) => ({ a, r }))));
    const counts = await containersPerJob(session);
    const taskIds = arrays.flatMap((a) => a.tasks.map((t) => `${a.id}.${t}`));
    // One container each; none for a job terminated before it had one.
    const neverStarted = new Set(
      outcomes.filter(({ info }) => !info.extension?.extensionList.containerId).map(({ j }) => j.id),
    );
    const notOnce = [...jobs.map((j) => j.id), ...taskIds].filter(
      (id) => (counts.get(id) ?? 0) !== (neverStarted.has(id) ? 0 : 1),
    );
    const runs = await recordedRuns(clients[0]!, `WorkflowId STARTS_WITH '${session}.'`);
    const replays = await replayRuns(runs);
    const failedTasks = failedWorkflowTasks(runs);

    console.log(
      `crash fuzz (seed ${SEED}): ${stats.rounds} rounds, ${stats.kills} worker kills, ` +
        `${stats.podmanRestarts} Podman and ${stats.temporalRestarts} Temporal restarts, ${jobs.length} jobs, ` +
        `${arrays.length} array jobs with ${taskIds.length} tasks, ${counts.size} containers, ${runs.length} histories, ` +
        `${stats.calls} client calls (${stats.refused} answered with an actionable DRMAA2 error)`,
    );
    const seed = `(seed ${SEED}: PODMAN_TRACKER_FUZZ_SEED=${SEED} PODMAN_TRACKER_FUZZ_ROUNDS=${ROUNDS})`;
    expect(
      wrong.map(({ j, info }) => ({ ...j, got: info })),
      `exit statuses ${seed}`,
    ).toEqual([]);
    // A task that ended otherwise than its exit code says, with its JobInfo to tell why.
    const wrongTasks = [];
    for (const { a, r } of arrayResults) {
      for (const t of a.tasks) {
        if (r.failed.includes(t) === a.failed.includes(t)) continue;
        const { info } = await reader.result(`${a.id}.${t}`);
        wrongTasks.push({ task: `${a.id}.${t}`, expected: a.failed.includes(t) ? 'failed' : 'done', got: info });
      }
    }
    expect(wrongTasks, `array tasks ${seed}`).toEqual([]);
    expect(
      notOnce.map((id) => `${id}: ${counts.get(id) ?? 0}`),
      `one container each ${seed}`,
    ).toEqual([]);
    expect(failedTasks, `failed workflow tasks ${seed}`).toEqual([]);
    expect(replays, `histories that do not replay ${seed}`).toEqual([]);
    expect(unexpected, `calls that failed otherwise ${seed}`).toEqual([]);
  },
  30 * 60_000,
);
