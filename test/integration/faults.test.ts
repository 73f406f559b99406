// Faults a worker lives through without losing a job or running one twice: Podman's API service
// gone for half a minute (three times the activities' longest retry interval), the Temporal server
// gone while a job ends, a container that ignores SIGTERM.
// (A worker killed with SIGKILL and quick restarts of both services: crash.test.ts. A full disk:
// disk-full.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersPerJob, podmanInspect, stack } from '../helpers.js';
import { startTracker, type TrackerFixture } from './fixtures.js';
import { stackUp, stopService } from './processes.js';

const job = (script: string) => ({ jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', script] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults', () => {
  let f: TrackerFixture;
  beforeAll(async () => {
    f = await startTracker('faults');
  });
  afterAll(() => f?.close());

  it("Podman's API service stopped for half a minute: jobs go on, the worker reconnects, states come right", async () => {
    const endsWhileDown = await f.tracker.addJob(job('sleep 4; exit 7'));
    const outlivesIt = await f.tracker.addJob(job('sleep 36; echo outlived'));
    await Promise.all([endsWhileDown, outlivesIt].map((id) => f.tracker.wait(id, 30_000, ['running'])));

    await stopService('podman');
    const downAt = Date.now();
    try {
      const submittedWhileDown = await f.tracker.addJob(job('echo submitted while Podman was down'));
      // The workflows answer for their jobs while Podman cannot.
      expect((await f.tracker.jobState(outlivesIt)).state).toBe('running');
      expect((await f.tracker.jobState(submittedWhileDown)).state).toBe('queued');
      await sleep(30_000 - (Date.now() - downAt));
      expect((await f.tracker.jobState(submittedWhileDown)).state).toBe('queued');

      await stackUp();
      const [a, b, c] = await Promise.all(
        [endsWhileDown, outlivesIt, submittedWhileDown].map((id) => f.tracker.result(id)),
      );
      expect(a!.info).toMatchObject({ state: 'failed', exitStatus: 7 });
      expect(b!.info).toMatchObject({ state: 'done', exitStatus: 0 });
      expect(b!.stdout).toBe('outlived\n');
      expect(c!.info).toMatchObject({ state: 'done', exitStatus: 0 });
      expect(c!.stdout).toBe('submitted while Podman was down\n');
      const counts = await containersPerJob(f.session);
      for (const id of [endsWhileDown, outlivesIt, submittedWhileDown]) expect(counts.get(id), id).toBe(1);
    } finally {
      await stackUp(); // whatever happened, the next test has its Podman back
    }
  }, 180_000);

  it('the Temporal server stopped while a job ends: the worker reconnects by itself and reports it', async () => {
    const id = await f.tracker.addJob(job('sleep 3; echo finished; exit 4'));
    await f.tracker.wait(id, 30_000, ['running']);
    await stopService('temporal');
    try {
      await sleep(8000); // the container ends meanwhile
      expect((await podmanInspect(`podman-tracker-${id}`)).State).toMatchObject({ Running: false, ExitCode: 4 });
    } finally {
      await stackUp();
    }
    const r = await f.tracker.result(id);
    expect(r.info).toMatchObject({ state: 'failed', exitStatus: 4 });
    expect(r.stdout).toBe('finished\n');
    expect((await containersPerJob(f.session)).get(id)).toBe(1);
  }, 120_000);

  it('a container that ignores SIGTERM is still ended by terminate', async () => {
    const id = await f.tracker.addJob(job('trap "" TERM; echo ready; while :; do sleep 1; done'));
    await f.tracker.wait(id, 30_000, ['running']);
    // SIGKILL, not `podman stop`'s SIGTERM and a grace period the process would sit out.
    await f.tracker.jobControl(id, 'terminate');
    const r = await f.tracker.result(id);
    expect(r.info).toMatchObject({ state: 'failed', subState: 'terminated', terminationSignal: 'SIGKILL' });
    expect((await podmanInspect(`podman-tracker-${id}`)).State.Running).toBe(false);
  });
});
