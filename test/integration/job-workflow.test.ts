// The job workflow on a real Temporal dev server and a real Podman: lifecycle, control by update,
// timed waits, and results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodmanTracker } from '../../client/tracker.js';
import { DrmaaError } from '../../common/errors.js';
import { podman, podmanInspect, sessionContainers, stack } from '../helpers.js';
import { startTracker, type TrackerFixture } from './fixtures.js';
import { registryGate } from './gate.js';

let f: TrackerFixture;
let tracker: PodmanTracker;
let session: string;

beforeAll(async () => {
  f = await startTracker('wf');
  ({ tracker, session } = f);
});
afterAll(() => f?.close());

const image = () => stack.testImage;

describe('job workflow', () => {
  it('runs a job to done and returns its JobInfo and output', async () => {
    const id = await tracker.addJob({
      jobCategory: image(),
      remoteCommand: 'sh',
      args: ['-c', 'echo out; echo err >&2'],
    });
    const r = await tracker.result(id);
    expect(r.info).toMatchObject({ id, state: 'done', exitStatus: 0 });
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n' });
    expect(await tracker.jobState(id)).toEqual({ state: 'done', subState: '' });
    expect((await tracker.jobTemplate(id)).args).toEqual(['-c', 'echo out; echo err >&2']);
  });

  it('refuses a bad template before anything starts', async () => {
    const err = await tracker.addJob({ jobCategory: image(), candidateMachines: ['a', 'b'] }).catch((e: unknown) => e);
    expect((err as DrmaaError).kind).toBe('InvalidArgument');
  });

  it('suspends, resumes and terminates by update; wrong pairs are InvalidState', async () => {
    const id = await tracker.addJob({ jobCategory: image(), remoteCommand: 'sleep', args: ['100'] });
    await tracker.wait(id, 30_000, ['running']);
    const resume = await tracker.jobControl(id, 'resume').catch((e: unknown) => e);
    expect(resume).toMatchObject({
      kind: 'InvalidState',
      message: expect.stringMatching(/cannot resume .* it is running/),
    });
    expect(await tracker.jobControl(id, 'suspend')).toEqual({ state: 'suspended', subState: '' });
    const info = await tracker.jobInfo(id);
    expect(
      (await podmanInspect(info.extension?.extensionList.containerId ?? `podman-tracker-${id}`)).State.Paused,
    ).toBe(true);
    expect(await tracker.jobControl(id, 'resume')).toMatchObject({ state: 'running' });
    const bogus = await tracker.jobControl(id, 'explode' as 'suspend').catch((e: unknown) => e);
    expect((bogus as DrmaaError).kind).toBe('InvalidArgument');
    await tracker.jobControl(id, 'terminate');
    const r = await tracker.result(id);
    expect(r.info).toMatchObject({
      state: 'failed',
      subState: 'terminated',
      exitStatus: 137,
      terminationSignal: 'SIGKILL',
    });
  });

  it('holds and releases a job submitted on hold; terminating a queued job creates no container', async () => {
    const held = await tracker.addJob({ jobCategory: image(), remoteCommand: 'true', submitAsHold: true });
    expect(await tracker.jobState(held)).toEqual({ state: 'queuedHeld', subState: '' });
    expect(await tracker.jobControl(held, 'release')).toMatchObject({ state: 'queued' });
    expect((await tracker.result(held)).info.state).toBe('done');

    const never = await tracker.addJob({ jobCategory: image(), remoteCommand: 'true', submitAsHold: true });
    await tracker.jobControl(never, 'terminate');
    expect((await tracker.result(never)).info).toMatchObject({ state: 'failed', subState: 'terminated' });
    const containers = await Promise.all((await sessionContainers(session)).map((c) => podmanInspect(c)));
    expect(containers.map((c) => c.Config.Labels['podman-tracker.job'])).not.toContain(never);
  });

  it('waits: an immediate match, a later match, and a timeout that leaves the job running', async () => {
    const id = await tracker.addJob({ jobCategory: image(), remoteCommand: 'sleep', args: ['5'] });
    await expect(tracker.wait(id, 0, ['queued', 'running'])).resolves.toMatchObject({});
    const timeout = await tracker.wait(id, 200, ['done']).catch((e: unknown) => e);
    expect((timeout as DrmaaError).kind).toBe('Timeout');
    expect((await tracker.jobState(id)).state).toBe('running');
    await expect(tracker.wait(id, 30_000)).resolves.toEqual({ state: 'done', subState: '' });
    await expect(tracker.wait(id, 0, ['done'])).resolves.toEqual({ state: 'done', subState: '' });
  });

  it('a wait with no timeout for a state the job never reaches ends when the job does', async () => {
    const id = await tracker.addJob({ jobCategory: image(), remoteCommand: 'sleep', args: ['1'] });
    const waiting = tracker.wait(id, null, ['suspended']).catch((e: unknown) => e);
    expect(await tracker.result(id)).toMatchObject({ info: { state: 'done' } });
    expect(await waiting).toMatchObject({
      kind: 'InvalidState',
      message: expect.stringMatching(/ended done; it cannot reach suspended/),
    });
  });

  it('ends a job at its deadline', async () => {
    const id = await tracker.addJob({
      jobCategory: image(),
      remoteCommand: 'sleep',
      args: ['100'],
      // Far enough ahead that a slow machine starts the job before it (else it is never started).
      deadlineTime: new Date(Date.now() + 8000).toISOString(),
    });
    const r = await tracker.result(id);
    expect(r.info).toMatchObject({ state: 'failed', subState: 'deadline', terminationSignal: 'SIGKILL' });
  });

  it('never starts a job whose deadline has passed when it is submitted', async () => {
    const id = await tracker.addJob({
      jobCategory: image(),
      remoteCommand: 'sh',
      args: ['-c', 'echo ran'],
      deadlineTime: '2000-01-01T00:00:00Z',
    });
    const r = await tracker.result(id);
    expect(r.info).toMatchObject({ state: 'failed', subState: 'deadline' });
    expect(r.info.extension?.extensionList.containerId).toBeUndefined();
    expect(r.stdout).toBe('');
    expect(await podman('ps', '-a', '-q', '--filter', `label=podman-tracker.job=${id}`)).toBe('');
  });

  it('never starts a job whose deadline passes while its image is pulled, and leaves no container', async () => {
    const gate = await registryGate();
    try {
      await podman('rmi', '-f', gate.image).catch(() => undefined);
      const deadline = Date.now() + 5000; // ahead of the job's first workflow task on a slow machine
      const id = await tracker.addJob({
        jobCategory: gate.image,
        remoteCommand: 'sh',
        args: ['-c', 'echo ran'],
        deadlineTime: new Date(deadline).toISOString(),
      });
      // The pull is under way, held at the gate (a job that ended first fails the test at once).
      await Promise.race([
        gate.reached,
        tracker.result(id).then((r) => expect.fail(`ended before its pull: ${JSON.stringify(r.info)}`)),
      ]);
      // The deadline is a clock: the test waits for it to pass, then lets the pull finish.
      await new Promise((r) => setTimeout(r, deadline - Date.now() + 200));
      gate.open();
      const r = await tracker.result(id);
      expect(r.info).toMatchObject({
        state: 'failed',
        subState: 'deadline',
        annotation: expect.stringMatching(/^Timeout: the deadline of job .* passed before its container could start/),
      });
      expect(r.stdout).toBe('');
      expect(await podman('ps', '-a', '-q', '--filter', `label=podman-tracker.job=${id}`)).toBe('');
      expect(await podman('images', '-q', gate.image)).not.toBe(''); // the pull itself went through
    } finally {
      await gate.close();
      await podman('rmi', '-f', gate.image).catch(() => undefined);
    }
  });

  it('a job that cannot start ends failed with the reason', async () => {
    const id = await tracker.addJob({ jobCategory: image(), remoteCommand: '/no/such/binary' });
    const r = await tracker.result(id);
    expect(r.info).toMatchObject({
      state: 'failed',
      subState: 'startFailed',
      annotation: expect.stringMatching(/^InvalidArgument: /),
    });
  });

  it('unknown job IDs are JobNotExists', async () => {
    const err = await tracker.jobState(`${session}.nope`).catch((e: unknown) => e);
    expect((err as DrmaaError).kind).toBe('JobNotExists');
  });
});
