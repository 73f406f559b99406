// Reads that need no worker: waiting writes nothing into a job's history, and an ended job (or array
// job) answers every read with its worker gone.
import proto from '@temporalio/proto'; // CommonJS: Node's ESM loader sees no named exports in it
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../helpers.js';
import { startTracker, type TrackerFixture } from './fixtures.js';

let f: TrackerFixture;
beforeAll(async () => {
  f = await startTracker('reads');
});
afterAll(() => f?.close());

const job = (script: string) => ({ jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', script] });
/** The names of the job's history events (EVENT_TYPE_TIMER_STARTED, ...). */
const eventTypes = async (id: string) =>
  ((await f.client.workflow.getHandle(id).fetchHistory()).events ?? []).map((e) =>
    String(proto.temporal.api.enums.v1.EventType[e.eventType ?? 0]),
  );

describe('reads', () => {
  it('50 clients waiting on a running job add nothing to its history', async () => {
    const id = await f.tracker.addJob(job('sleep 3; exit 3'));
    await f.tracker.wait(id, 30_000, ['running']);
    const waits = Array.from({ length: 50 }, () => f.tracker.wait(id, 60_000));
    const ended = await Promise.all(waits);
    expect(ended.every((s) => s.state === 'failed')).toBe(true);
    // Only the wait for 'running' above may be an update (when the first look did not answer it);
    // the 50 long polls left no update and no timer behind.
    const types = await eventTypes(id);
    expect(types.filter((t) => /UPDATE_ACCEPTED/.test(t)).length).toBeLessThanOrEqual(1);
    expect(types.filter((t) => /TIMER_STARTED/.test(t)).length).toBeLessThanOrEqual(1);
    const before = types.length;
    await Promise.all(Array.from({ length: 50 }, () => f.tracker.wait(id, 10_000)));
    expect((await eventTypes(id)).length).toBe(before);
  });

  it('an ended job and array job answer every read with no worker running', async () => {
    const id = await f.tracker.addJob({ ...job('echo out; exit 3'), jobName: 'reads-ended' });
    const array = await f.tracker.addArrayJob(job('exit $((TASK_ID - 1))'), 1, 2, 1, 2);
    await f.tracker.wait(id, 60_000);
    await f.tracker.wait(array, 60_000);
    await f.stopWorker(); // the worker is gone: from here on, only the server answers

    expect(await f.tracker.jobState(id)).toEqual({ state: 'failed', subState: '' });
    expect(await f.tracker.jobInfo(id)).toMatchObject({ id, state: 'failed', exitStatus: 3 });
    expect(await f.tracker.wait(id, 5_000)).toEqual({ state: 'failed', subState: '' });
    expect((await f.tracker.result(id)).stdout).toBe('out\n');
    expect(await f.tracker.jobTemplate(id)).toMatchObject({ jobName: 'reads-ended' });

    const tasks = await f.tracker.listArrayJobs(array);
    expect(tasks).toEqual([`${array}.1`, `${array}.2`]);
    expect(await f.tracker.jobState(array)).toEqual({ state: 'failed', subState: '' });
    expect(await f.tracker.arrayInfo(array)).toMatchObject({ total: 2, done: 1, failed: 1, running: 0 });
    expect(await f.tracker.jobInfo(array)).toMatchObject({ id: array, state: 'failed' });
    expect(await f.tracker.jobState(tasks[0]!)).toEqual({ state: 'done', subState: '' });
    expect(await f.tracker.jobTemplate(tasks[1]!)).toMatchObject({ jobEnvironment: { TASK_ID: '2' } });
    await expect(f.tracker.wait(tasks[1]!, 0, ['done'])).rejects.toMatchObject({ kind: 'InvalidState' });
  });
});
