// The full lifecycle: every control action in every state, start times, listing and deleting,
// categories, and host routing by queueName.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrmaaError } from '../../common/errors.js';
import type { JobControlAction, JobState } from '../../common/states.js';
import { endByTerm, podman, podmanInspect, stack, untilTerm } from '../helpers.js';
import { containerOf, eventually, startTracker, type TrackerFixture } from './fixtures.js';

let f: TrackerFixture;
beforeAll(async () => {
  f = await startTracker('lifecycle');
});
afterAll(() => f?.close());

const sleeper = { jobCategory: stack.testImage, remoteCommand: 'sleep', args: ['100'] };

/** A fresh job brought into the given state. */
async function jobIn(state: JobState): Promise<string> {
  const t = f.tracker;
  switch (state) {
    case 'queued':
      return t.addJob({ ...sleeper, startTime: new Date(Date.now() + 3_600_000).toISOString() });
    case 'queuedHeld':
      return t.addJob({ ...sleeper, submitAsHold: true });
    case 'running': {
      const id = await t.addJob(sleeper);
      await t.wait(id, 30_000, ['running']);
      return id;
    }
    case 'suspended': {
      const id = await jobIn('running');
      await t.jobControl(id, 'suspend');
      return id;
    }
    case 'done': {
      const id = await t.addJob({ jobCategory: stack.testImage, remoteCommand: 'true' });
      await t.wait(id, 30_000);
      return id;
    }
    default: {
      const id = await t.addJob({ jobCategory: stack.testImage, remoteCommand: 'false' });
      await t.wait(id, 30_000);
      return id;
    }
  }
}

// What each action does in each state; undefined: InvalidState.
const table: Record<string, Partial<Record<JobControlAction, JobState>>> = {
  queued: { hold: 'queuedHeld', terminate: 'failed' },
  queuedHeld: { release: 'queued', terminate: 'failed' },
  running: { suspend: 'suspended', terminate: 'failed' },
  suspended: { resume: 'running', terminate: 'failed' },
  done: {},
  failed: {},
};
const cells = Object.entries(table).flatMap(([state, row]) =>
  (['suspend', 'resume', 'hold', 'release', 'terminate'] as const).map(
    (action) => [state, action, row[action]] as const,
  ),
);

describe('every control action in every state', () => {
  it.each(cells)('%s + %s -> %s', async (state, action, expected) => {
    const id = await jobIn(state as JobState);
    const answer = await f.tracker.jobControl(id, action).catch((e: unknown) => e as DrmaaError);
    if (expected === undefined) {
      expect(answer).toMatchObject({
        kind: 'InvalidState',
        message: expect.stringContaining(`cannot ${action} job ${id}`),
      });
      expect((await f.tracker.jobState(id)).state).toBe(state);
    } else if (expected === 'failed') {
      await f.tracker.wait(id, 30_000);
      expect(await f.tracker.jobState(id)).toEqual({ state: 'failed', subState: 'terminated' });
    } else {
      expect((answer as { state: JobState }).state).toBe(expected);
      // A released job starts at once: by the next look it may be running already.
      const next = action === 'release' ? ['queued', 'running'] : [expected];
      expect(next).toContain((await f.tracker.jobState(id)).state);
    }
    if (!['done', 'failed'].includes((await f.tracker.jobState(id)).state)) await f.tracker.jobControl(id, 'terminate');
  });
});

describe('timing', () => {
  it('startTime keeps a job queued until then, on a durable timer', async () => {
    const startTime = new Date(Date.now() + 6000); // room for the submit and the look at a slow machine
    const id = await f.tracker.addJob({
      jobCategory: stack.testImage,
      remoteCommand: 'true',
      startTime: startTime.toISOString(),
    });
    expect((await f.tracker.jobState(id)).state).toBe('queued');
    const r = await f.tracker.result(id);
    expect(r.info.state).toBe('done');
    expect(Date.parse(r.info.dispatchTime!)).toBeGreaterThanOrEqual(startTime.getTime());
  });

  it('a deadline that passes while the job is held ends it without a container', async () => {
    const id = await f.tracker.addJob({
      ...sleeper,
      submitAsHold: true,
      deadlineTime: new Date(Date.now() + 1500).toISOString(),
    });
    expect((await f.tracker.result(id)).info).toMatchObject({ state: 'failed', subState: 'deadline' });
  });
});

describe('listing and deleting', () => {
  it('lists finished jobs until deleted; delete removes the container; history stays', async () => {
    const done = await jobIn('done');
    const running = await jobIn('running');
    await eventually(async () => expect(await f.tracker.listJobs()).toEqual(expect.arrayContaining([done, running])));

    const busy = await f.tracker.deleteJob(running).catch((e: unknown) => e as DrmaaError);
    expect(busy).toMatchObject({ kind: 'InvalidState' });

    const containerId = await containerOf(f.tracker, done);
    await podmanInspect(containerId);
    await f.tracker.deleteJob(done);
    await expect(podmanInspect(containerId)).rejects.toThrow(/no such/i);
    await eventually(async () => expect(await f.tracker.listJobs()).not.toContain(done));
    expect((await f.tracker.deleteJob(done).catch((e: unknown) => e as DrmaaError))?.kind).toBe('JobNotExists');
    // The job's history is still in Temporal.
    expect((await f.client.workflow.getHandle(done).describe()).status.name).toBe('COMPLETED');
    await f.tracker.jobControl(running, 'terminate');
  });

  it('lists every task of an array job, queued ones included', async () => {
    const array = await f.tracker.addArrayJob(sleeper, 1, 5, 1, 1);
    const tasks = await f.tracker.listArrayJobs(array);
    await eventually(async () => expect(await f.tracker.listJobs()).toEqual(expect.arrayContaining(tasks)));
    await f.tracker.jobControl(array, 'terminate');
  });

  it('lists the Podman host’s images as job categories', async () => {
    expect(await f.tracker.listJobCategories()).toContain(stack.testImage);
  });
});

describe('several Podman hosts', () => {
  it('queueName picks the host, and every later activity of the job goes to that host’s worker', async () => {
    const other = await startTracker('lifecycle-b', { taskQueue: f.taskQueue, hostName: 'second-host' });
    try {
      const first = f.worker.hostName;
      const onSecond = await f.tracker.addJob({ ...sleeper, queueName: 'second-host' });
      const onFirst = await f.tracker.addJob({ ...sleeper, queueName: first });
      await f.tracker.wait(onSecond, 30_000, ['running']);
      await f.tracker.wait(onFirst, 30_000, ['running']);
      expect((await f.tracker.jobInfo(onSecond)).allocatedMachines).toEqual(['second-host']);
      expect((await f.tracker.jobInfo(onFirst)).allocatedMachines).toEqual([first]);

      // With the second host's worker gone, its job's control waits for it rather than going elsewhere.
      await other.close(); // stopped, not stopping: no poll of its own can still take the control
      const pending = f.tracker.jobControl(onSecond, 'suspend');
      const early = await Promise.race([
        pending.then(() => 'answered'),
        new Promise((r) => setTimeout(() => r('waiting'), 2000)),
      ]);
      expect(early).toBe('waiting');
      await f.tracker.jobControl(onFirst, 'terminate');
      const resumed = await startTracker('lifecycle-b2', { taskQueue: f.taskQueue, hostName: 'second-host' });
      try {
        expect(await pending).toMatchObject({ state: 'suspended' });
        await f.tracker.jobControl(onSecond, 'terminate');
        await f.tracker.wait(onSecond, 30_000);
      } finally {
        await resumed.close();
      }
    } finally {
      await other.close();
    }
  });
});

describe('a container that vanishes', () => {
  // It runs until removed, or until the test ends it.
  const script = { jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', untilTerm({ first: 'echo ran' })] };
  const removeContainerOf = async (id: string) => podman('rm', '-f', '-t', '0', await containerOf(f.tracker, id));

  it('is run again when the job is reRunnable', async () => {
    const id = await f.tracker.addJob({ ...script, reRunnable: true });
    await f.tracker.wait(id, 30_000, ['running']);
    const first = await containerOf(f.tracker, id);
    await removeContainerOf(id);
    const second = await eventually(async () => {
      const c = await containerOf(f.tracker, id);
      expect(c).not.toBe(first);
      return c;
    }, 30_000);
    await f.tracker.wait(id, 30_000, ['running']);
    await endByTerm(second);
    const r = await f.tracker.result(id);
    expect(r.info).toMatchObject({ state: 'done', exitStatus: 0 });
    expect(r.stdout).toBe('ran\n');
    expect(r.info.extension?.extensionList.containerId).not.toBe(first);
  });

  it('fails the job, saying why, when it is not', async () => {
    const id = await f.tracker.addJob(script);
    await f.tracker.wait(id, 30_000, ['running']);
    await removeContainerOf(id);
    expect((await f.tracker.result(id)).info).toMatchObject({ state: 'failed', subState: 'containerLost' });
  });
});

describe('rm (podman run --rm)', () => {
  it('a job’s container goes once its result is kept, short and long jobs alike', async () => {
    const rm = { extension: { extensionList: { rm: 'true' } } };
    const short = await f.tracker.addJob({
      jobCategory: stack.testImage,
      remoteCommand: 'echo',
      args: ['short'],
      ...rm,
    });
    const long = await f.tracker.addJob({ jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', 'sleep 1; echo long'], ...rm }); // prettier-ignore
    for (const [id, out] of [
      [short, 'short\n'],
      [long, 'long\n'],
    ] as const) {
      expect((await f.tracker.result(id)).stdout).toBe(out);
      await eventually(async () => {
        expect(await podman('ps', '-a', '-q', '--filter', `label=podman-tracker.job=${id}`)).toBe('');
      });
    }
  });
});
