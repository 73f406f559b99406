// Load: 200 jobs submitted at once by 10 clients (each its own Temporal connection) to one worker
// that runs at most 8 activities at a time per task queue. All are accepted, all finish with their
// own output, and Podman's events show exactly one container made and started for each.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerEvents } from '../../activities/streams.js';
import { PodmanTracker } from '../../client/tracker.js';
import { LABEL } from '../../common/convert.js';
import { podmanClient, requireEnv, sessionContainers, stack } from '../helpers.js';
import { nowNs } from './concurrency.js';
import { eventually, startTracker, type TrackerFixture } from './fixtures.js';

const CLIENTS = 10;
const JOBS_PER_CLIENT = 20;
const MAX_CONCURRENT_ACTIVITIES = 8;

/**
 * Records the session's container events as they happen, from Podman's event stream (not `podman
 * events --since`: the stack's event log file is rotated under load and loses them).
 */
async function recordEvents(session: string) {
  const events: Array<{ action: string; job: string; id: string }> = [];
  const stream = await containerEvents(
    podmanClient(),
    [`${LABEL.session}=${session}`],
    (e) => events.push({ action: e.Action, job: e.Actor?.Attributes?.[LABEL.job] ?? '?', id: e.id! }),
    nowNs(),
  );
  stream.on('error', () => undefined);
  return { events, stop: () => stream.destroy() };
}

let f: TrackerFixture;
const connections: Connection[] = [];
beforeAll(async () => {
  f = await startTracker('load', { maxConcurrentActivities: MAX_CONCURRENT_ACTIVITIES });
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await f?.close();
});

describe('load', () => {
  it(`${CLIENTS * JOBS_PER_CLIENT} jobs from ${CLIENTS} clients at once: all accepted, all done once, each with its own output`, async () => {
    const trackers = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
        connections.push(connection);
        return new PodmanTracker({ client: new Client({ connection }), session: f.session, taskQueue: f.taskQueue });
      }),
    );
    const recorder = await recordEvents(f.session);
    const started = Date.now();

    // Every client submits all of its jobs at once; every other job removes its container when done.
    const submitted = await Promise.all(
      trackers.flatMap((tracker, c) =>
        Array.from({ length: JOBS_PER_CLIENT }, async (_, j) => {
          const name = `c${c}-j${j}`;
          const rm = j % 2 === 1;
          const id = await tracker.addJob({
            jobCategory: stack.testImage,
            remoteCommand: 'sh',
            args: ['-c', 'echo "$JOB"; sleep 0.2'],
            jobEnvironment: { JOB: name },
            extension: rm ? { extensionList: { rm: 'true' } } : undefined,
          });
          return { tracker, id, name, rm };
        }),
      ),
    );
    const accepted = Date.now() - started;
    expect(new Set(submitted.map((s) => s.id)).size).toBe(CLIENTS * JOBS_PER_CLIENT);

    const results = await Promise.all(
      submitted.map(async (s) => {
        const end = await s.tracker.wait(s.id, 300_000);
        const result = await s.tracker.result(s.id);
        return { ...s, end, result };
      }),
    );
    const finished = Date.now() - started;
    for (const r of results) {
      expect(r.end, r.name).toEqual({ state: 'done', subState: '' });
      expect(r.result.info.exitStatus, r.name).toBe(0);
      expect(r.result.stdout, r.name).toBe(`${r.name}\n`);
    }

    // None twice: one container created and started per job, in Podman's own events.
    recorder.stop();
    for (const action of ['create', 'start']) {
      const perJob = new Map<string, string[]>();
      for (const e of recorder.events.filter((x) => x.action === action)) {
        perJob.set(e.job, [...(perJob.get(e.job) ?? []), e.id]);
      }
      expect([...perJob.keys()].sort(), action).toEqual(results.map((r) => r.id).sort());
      const twice = [...perJob].filter(([, containers]) => containers.length !== 1);
      expect(Object.fromEntries(twice), `jobs with more than one ${action}`).toEqual({});
    }
    // rm jobs' containers go once their jobs have closed; the others keep theirs until deleted.
    await eventually(async () => {
      expect(await sessionContainers(f.session)).toHaveLength(results.filter((r) => !r.rm).length);
    }, 30_000);

    // Every client lists all 200, whoever submitted them.
    await eventually(async () => {
      expect(await trackers[3]!.listJobs()).toEqual(results.map((r) => r.id).sort());
    }, 30_000);
    let running = 0;
    let peak = 0;
    for (const e of recorder.events) {
      if (e.action === 'start') peak = Math.max(peak, ++running);
      if (e.action === 'died' || e.action === 'die') running--;
    }
    console.log(
      `load: ${results.length} jobs accepted in ${accepted} ms, all done in ${finished} ms; ` +
        `at most ${peak} containers running at once`,
    );
  }, 300_000);
});
