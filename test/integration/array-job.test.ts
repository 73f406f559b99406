// Array jobs on a real Temporal dev server and Podman: maxParallel, TASK_ID, queued-task control,
// listing, validation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrmaaError } from '../../common/errors.js';
import { arrayJobWorkflow } from '../../workflows/array.js';
import { endByTerm, podman, podmanInspect, sessionContainers, stack, untilTerm } from '../helpers.js';
import { recordConcurrency } from './concurrency.js';
import { containerOf, eventually, startTracker, type TrackerFixture } from './fixtures.js';

let f: TrackerFixture;
beforeAll(async () => {
  f = await startTracker('array');
});
afterAll(() => f?.close());

const sleepy = (seconds: number) => ({ jobCategory: stack.testImage, remoteCommand: 'sleep', args: [String(seconds)] });

describe('array jobs', () => {
  // Tasks run until terminated, one by one in the order the array starts them, so each freed slot's
  // refill is awaited from Podman's events rather than hoped for within a task's run time.
  it('never runs more than maxParallel tasks at once, and refills each freed slot', async () => {
    const rec = await recordConcurrency(f.session);
    const id = await f.tracker.addArrayJob(sleepy(600), 1, 8, 1, 3);
    const tasks = await f.tracker.listArrayJobs(id);
    for (const [i, t] of tasks.entries()) {
      await rec.running(Math.min(3, tasks.length - i));
      await f.tracker.wait(t, 30_000, ['running']);
      await f.tracker.jobControl(t, 'terminate');
    }
    const result = await f.tracker.arrayResult(id);
    await rec.running(0);
    rec.stop();
    expect(result).toMatchObject({ total: 8, done: 0, failed: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(rec.starts).toBe(8);
    expect(rec.peak).toBe(3);
  }, 120_000);

  it('maxParallel 0 means no limit of the caller: all tasks run at once', async () => {
    const rec = await recordConcurrency(f.session);
    const id = await f.tracker.addArrayJob(sleepy(600), 1, 5, 1, 0);
    await rec.running(5, 60_000);
    await f.tracker.jobControl(id, 'terminate');
    await f.tracker.arrayResult(id);
    await rec.running(0);
    rec.stop();
    expect(rec.peak).toBe(5);
  }, 120_000);

  it('runs tasks to done, each once, at most maxParallel at a time', async () => {
    const rec = await recordConcurrency(f.session);
    const id = await f.tracker.addArrayJob(sleepy(1), 1, 6, 1, 2);
    const result = await f.tracker.arrayResult(id);
    await rec.running(0);
    rec.stop();
    expect(result).toMatchObject({ total: 6, done: 6, failed: [] });
    expect(rec.starts).toBe(6);
    expect(rec.peak).toBeLessThanOrEqual(2);
  });

  it('gives each task its TASK_ID, leaves the template alone, and lists every task at once', async () => {
    const template = {
      jobCategory: stack.testImage,
      remoteCommand: 'sh',
      args: ['-c', 'echo task=$TASK_ID'],
      jobEnvironment: { KEEP: 'me' },
    };
    const id = await f.tracker.addArrayJob(template, 10, 20, 5, 1);
    const tasks = await f.tracker.listArrayJobs(id);
    expect(tasks).toEqual([`${id}.10`, `${id}.15`, `${id}.20`]);
    expect(template.jobEnvironment).toEqual({ KEEP: 'me' });
    await f.tracker.wait(id, 60_000);
    for (const [i, t] of tasks.entries()) {
      const r = await f.tracker.result(t);
      expect(r.stdout).toBe(`task=${[10, 15, 20][i]}\n`);
      expect((await f.tracker.jobTemplate(t)).jobEnvironment).toEqual({ KEEP: 'me', TASK_ID: String([10, 15, 20][i]) });
    }
    expect((await f.tracker.jobTemplate(id)).jobEnvironment).toEqual({ KEEP: 'me' });
    expect(await f.tracker.jobState(id)).toEqual({ state: 'done', subState: '' });
  });

  it('holds, releases and terminates tasks queued for a slot, one by one', async () => {
    // Task 1 holds the one slot through the controls below, until the test ends it; the others are short.
    const template = {
      jobCategory: stack.testImage,
      remoteCommand: 'sh',
      args: ['-c', untilTerm({ first: '[ "$TASK_ID" = 1 ] || { sleep 1; exit 0; }' })],
    };
    const id = await f.tracker.addArrayJob(template, 1, 4, 1, 1);
    const [t1, t2, t3, t4] = await f.tracker.listArrayJobs(id);
    await f.tracker.wait(t1!, 30_000, ['running']);
    expect(await f.tracker.jobState(t3!)).toEqual({ state: 'queued', subState: '' });
    expect(await f.tracker.jobControl(t3!, 'hold')).toEqual({ state: 'queuedHeld', subState: '' });
    expect(await f.tracker.jobControl(t2!, 'terminate')).toEqual({ state: 'failed', subState: 'terminated' });
    const wrong = await f.tracker.jobControl(t4!, 'suspend').catch((e: unknown) => e);
    expect((wrong as DrmaaError).kind).toBe('InvalidState');

    // Task 4 runs while task 3 is held: a held task does not take the slot.
    await endByTerm(await containerOf(f.tracker, t1!));
    await f.tracker.wait(t4!, 30_000, ['done']);
    expect(await f.tracker.jobState(t3!)).toEqual({ state: 'queuedHeld', subState: '' });
    await f.tracker.jobControl(t3!, 'release');
    await f.tracker.wait(t3!, 30_000, ['done']);
    const result = await f.tracker.arrayResult(id);
    expect(result).toMatchObject({ total: 4, done: 3, failed: [2] });
    const jobs = (await Promise.all((await sessionContainers(f.session)).map((c) => podmanInspect(c)))).map(
      (c) => c.Config.Labels['podman-tracker.job'],
    );
    expect(jobs).not.toContain(t2);
    expect(await f.tracker.jobState(t2!)).toEqual({ state: 'failed', subState: 'terminated' });
  });

  it('control of the array job reaches every task', async () => {
    const id = await f.tracker.addArrayJob(sleepy(100), 1, 4, 1, 2);
    const tasks = await f.tracker.listArrayJobs(id);
    await f.tracker.wait(tasks[1]!, 30_000, ['running']);
    await f.tracker.jobControl(id, 'suspend');
    await f.tracker.wait(tasks[0]!, 30_000, ['suspended']);
    await f.tracker.wait(tasks[1]!, 30_000, ['suspended']);
    await f.tracker.jobControl(id, 'hold');
    expect((await f.tracker.jobState(tasks[2]!)).state).toBe('queuedHeld');
    await f.tracker.jobControl(id, 'resume');
    await f.tracker.wait(tasks[0]!, 30_000, ['running']);
    await f.tracker.jobControl(id, 'terminate');
    const r = await f.tracker.arrayResult(id);
    expect(r).toMatchObject({ total: 4, done: 0, failed: [1, 2, 3, 4] });
    const ended = await f.tracker.jobControl(id, 'terminate').catch((e: unknown) => e);
    expect((ended as DrmaaError).kind).toBe('InvalidState');
  });

  it('a resume right after a suspend of the array job leaves no task paused', async () => {
    const id = await f.tracker.addArrayJob(sleepy(600), 1, 2, 1, 2);
    const tasks = await f.tracker.listArrayJobs(id);
    for (const t of tasks) await f.tracker.wait(t, 30_000, ['running']);
    // Both reach each task as signals while its pause is still on its way to Podman.
    await f.tracker.jobControl(id, 'suspend');
    await f.tracker.jobControl(id, 'resume');
    // Each task pauses, then unpauses: the resume is carried out once the pause is back, not dropped.
    const done = (t: string, activity: string) =>
      f.client.workflow
        .getHandle(t)
        .fetchHistory()
        .then(({ events }) => {
          events ??= [];
          const scheduled = events.filter(
            (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity,
          );
          const ids = new Set(scheduled.map((e) => String(e.eventId)));
          return events.some((e) => ids.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
        });
    for (const t of tasks) {
      await eventually(async () => expect(await done(t, 'pauseJob')).toBe(true), 30_000);
      await eventually(async () => expect(await done(t, 'unpauseJob')).toBe(true), 30_000);
      expect((await podmanInspect(await containerOf(f.tracker, t))).State.Status).toBe('running');
      expect((await f.tracker.jobState(t)).state).toBe('running');
    }
    await f.tracker.jobControl(id, 'terminate');
    await expect(f.tracker.arrayResult(id)).resolves.toMatchObject({ total: 2, failed: [1, 2] });
  });

  it('a task closed by hand in Temporal (it never signals) is found after a quiet spell and counted failed', async () => {
    const arrayJobId = `${f.session}.by-hand`;
    await f.client.workflow.start(arrayJobWorkflow, {
      workflowId: arrayJobId,
      taskQueue: f.taskQueue,
      args: [
        {
          arrayJobId,
          session: f.session,
          template: sleepy(100),
          begin: 1,
          end: 2,
          step: 1,
          maxParallel: 2,
          taskCheckIntervalMs: 1000,
        },
      ],
    });
    const tasks = await f.tracker.listArrayJobs(arrayJobId);
    await f.tracker.wait(tasks[0]!, 30_000, ['running']);
    await f.tracker.wait(tasks[1]!, 30_000, ['running']);
    // Terminated in Temporal, not through DRMAA2: the task's workflow cannot tell its array job.
    await f.client.workflow.getHandle(tasks[0]!).terminate('by hand');
    await f.tracker.jobControl(tasks[1]!, 'terminate');
    const r = await f.tracker.arrayResult(arrayJobId);
    expect(r).toMatchObject({ total: 2, done: 0, failed: [1, 2] });
    await podman('rm', '-f', `podman-tracker-${tasks[0]!}`);
  });

  it.each([
    [1, 5, 0, 1, /step must be 1 or more/],
    [5, 1, 1, 1, /begin \(5\) must not be after end \(1\)/],
    [1, 5, 1, -1, /maxParallel must be 0 \(no limit\) or more/],
    [1.5, 5, 1, 1, /integers/],
  ])('refuses begin %d end %d step %d maxParallel %d', async (b, e, s, m, why) => {
    const err = await f.tracker.addArrayJob(sleepy(1), b, e, s, m).catch((x: unknown) => x);
    expect((err as DrmaaError).kind).toBe('InvalidArgument');
    expect((err as DrmaaError).message).toMatch(why);
  });
});
