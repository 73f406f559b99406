// The Podman activities against a real Podman API service: the Go tracker's own cases, retries,
// output and input, control, and listing.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { createActivities, type CreatedContainer, type QuickWatch } from '../../activities/index.js';
import { DrmaaError } from '../../common/errors.js';
import type { JobTemplateInput } from '../../common/template.js';
import {
  ActivityHarness,
  endByTerm,
  podman,
  podmanClient,
  podmanInspect,
  removeSession,
  sessionContainers,
  stack,
  testLogger,
  uniqueSession,
  untilTerm,
} from '../helpers.js';

const session = uniqueSession('activities');
const h = new ActivityHarness();
let seq = 0;

function submit(template: Partial<JobTemplateInput>, jobId = `${session}.job-${++seq}`, quick?: QuickWatch) {
  return h.run('createAndStartContainer', jobInput(template, jobId), quick).then((r) => ({ ...r, jobId }));
}

function jobInput(template: Partial<JobTemplateInput>, jobId = `${session}.job-${++seq}`) {
  return {
    jobId,
    session,
    owner: 'tester',
    submissionMachine: 'test-host',
    template: { jobCategory: stack.testImage, ...template },
  };
}

afterAll(() => removeSession(session));

describe('the Go tracker cases', () => {
  it('runs a sleep job, lists it, terminates it to failed and deletes it', async () => {
    const job = await submit({ remoteCommand: 'sleep', args: ['100'] });
    expect((await h.run('inspectJob', job)).state).toBe('running');
    const listed = await h.run('listSessionJobs', session);
    expect(listed.find((j) => j.jobId === job.jobId)?.state).toBe('running');

    await expect(h.run('removeJob', job)).rejects.toMatchObject({ type: 'InvalidState' });
    await h.run('killJob', job);
    const ended = await h.run('waitForExit', job);
    expect(ended.state).toBe('failed');
    expect(ended.info?.terminationSignal).toBe('SIGKILL');
    expect(ended.info?.exitStatus).toBe(137);

    await h.run('removeJob', job);
    expect((await h.run('inspectJob', job)).state).toBe('undetermined');
    expect((await h.run('listSessionJobs', session)).map((j) => j.jobId)).not.toContain(job.jobId);
    await h.run('removeJob', job); // a retried delete is harmless
  });

  it('ends done for sleep 1, with sane times', async () => {
    const job = await submit({ remoteCommand: 'sleep', args: ['1'] });
    const s = await h.run('waitForExit', job);
    expect(s.state).toBe('done');
    expect(s.info?.exitStatus).toBe(0);
    expect(s.info?.terminationSignal).toBeUndefined();
    const { submissionTime, dispatchTime, finishTime, wallclockTime } = s.info!;
    expect(Date.parse(submissionTime!)).toBeLessThanOrEqual(Date.parse(dispatchTime!));
    expect(Date.parse(dispatchTime!)).toBeLessThan(Date.parse(finishTime!));
    expect(wallclockTime).toBeGreaterThanOrEqual(900);
    expect(wallclockTime).toBeLessThan(10_000);
    expect(s.info?.jobOwner).toBe('tester');
    expect(s.info?.submissionMachine).toBe('test-host');
    expect(s.info?.allocatedMachines?.[0]).toBeTruthy();
    expect(s.info?.extension?.extensionList.image).toBe(stack.testImage);
    expect(JSON.parse(s.info!.extension!.extensionList.command!)).toEqual(['sleep', '1']);
  });

  it('ends failed with exit status 1 for sh -c "exit 1"', async () => {
    const job = await submit({ remoteCommand: 'sh', args: ['-c', 'exit 1'] });
    const s = await h.run('waitForExit', job);
    expect(s).toMatchObject({ state: 'failed', info: { exitStatus: 1 } });
    expect(s.info?.terminationSignal).toBeUndefined();
  });

  it('writes exactly two echoed lines into the output file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-out-'));
    const outputPath = join(dir, 'out.txt');
    const job = await submit({ remoteCommand: 'sh', args: ['-c', 'echo hello; echo world'], outputPath });
    await h.run('waitForExit', job);
    await h.run('collectResult', job, { outputPath });
    expect(await readFile(outputPath, 'utf8')).toBe('hello\nworld\n');
  });

  it('a short wait on a running job times out and leaves it running', async () => {
    const job = await submit({ remoteCommand: 'sleep', args: ['100'] });
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000 }, { logger: testLogger() });
    const waiting = env.run(h.acts.waitForExit, job);
    await new Promise((r) => setTimeout(r, 500));
    env.cancel('CANCELLED'); // what a timed-out wait does to the activity
    await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
    expect((await h.run('inspectJob', job)).state).toBe('running');
    await h.run('killJob', job);
  });
});

describe('retries and idempotence', () => {
  it('waitAndCollect: within a window it answers running and collects nothing; then the result', async () => {
    const job = await submit({ remoteCommand: 'sh', args: ['-c', untilTerm({ onTerm: 'echo finished' })], extension: { extensionList: { rm: 'true' } } }); // prettier-ignore
    const quick = await h.run('waitAndCollect', job, {}, undefined, 300);
    expect(quick).toEqual({ ended: { state: 'running', subState: '' }, told: false });
    expect((await podmanInspect(job.containerId)).State.Running).toBe(true);
    await endByTerm(job.containerId);
    const r = await h.run('waitAndCollect', job, {});
    expect(r.ended.state).toBe('done');
    expect(r.collected).toMatchObject({ state: 'done', output: { stdout: 'finished\n', stderr: '' } });
    // rm: kept until the job's workflow has closed (a collection run again finds it); the worker's
    // removals take it then (lifecycle.test.ts). Podman lists short IDs.
    expect((await sessionContainers(session)).filter((id) => job.containerId.startsWith(id))).toHaveLength(1);
  });

  it('createAndStartContainer with a first wait: a short job is created, seen to end and collected in one call', async () => {
    const template = {
      remoteCommand: 'sh',
      args: ['-c', 'echo hi; exit 3'],
      extension: { extensionList: { rm: 'true' } },
    };
    const jobId = `${session}.job-${++seq}`;
    const r = await submit(template, jobId, { files: {}, withinMs: 5000 });
    expect(r.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(r.quick?.ended.state).toBe('failed');
    expect(r.quick?.collected).toMatchObject({ state: 'failed', info: { exitStatus: 3 }, output: { stdout: 'hi\n' } });
    // Run again (its workflow task lost, say), the call finds the same container and runs nothing twice.
    const again = await h.run('createAndStartContainer', jobInput(template, jobId), { files: {}, withinMs: 5000 });
    expect(again.containerId).toBe(r.containerId);
    expect(again.quick?.collected).toMatchObject({
      state: 'failed',
      info: { exitStatus: 3 },
      output: { stdout: 'hi\n' },
    });
  });

  it('createAndStartContainer with a first wait: without a window it only creates; a longer job answers running', async () => {
    const sleeper = { remoteCommand: 'sleep', args: ['30'] };
    const only = await submit(sleeper);
    expect(only.quick).toBeUndefined();
    expect((await podmanInspect(only.containerId)).State.Running).toBe(true);
    const r = await submit(sleeper, undefined, { files: {}, withinMs: 300 });
    expect(r.quick).toEqual({ ended: { state: 'running', subState: '' }, told: false });
    await h.run('killJob', only);
    await h.run('killJob', r);
  });

  it('createAndStartContainer with a first wait: a failure after creation is not thrown (a retry could run the job twice); the container stays', async () => {
    // The real Podman, except that its event stream is refused: the wait fails once the job exists.
    const real = podmanClient();
    const faulty = Object.assign(Object.create(real) as Docker, {
      getEvents: () => Promise.reject(new Error('event stream refused')),
    });
    const acts = createActivities({ docker: faulty });
    const input = jobInput({ remoteCommand: 'sleep', args: ['30'] });
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000 }, { logger: testLogger() });
    const r: CreatedContainer = await env.run(acts.createAndStartContainer, input, { files: {}, withinMs: 5000 });
    expect(r.quick).toBeUndefined();
    expect((await podmanInspect(r.containerId)).State.Running).toBe(true);
    await h.run('killJob', { jobId: input.jobId, containerId: r.containerId });
  });

  it('create-and-start twice with one job ID leaves one container', async () => {
    const same = `${session}.same-job`;
    const a = await submit({ remoteCommand: 'sleep', args: ['30'] }, same);
    const b = await submit({ remoteCommand: 'sleep', args: ['30'] }, same);
    expect(b.containerId).toBe(a.containerId);
    const all = await sessionContainers(session);
    const mine = await Promise.all(all.map((id) => podmanInspect(id)));
    expect(mine.filter((c) => c.Config.Labels['podman-tracker.job'] === same)).toHaveLength(1);
    await h.run('killJob', a);
    await h.run('killJob', a); // killing an ended job is harmless
  });
});

describe('streams', () => {
  it('keeps stdout and stderr apart, with their own line endings', async () => {
    const job = await submit({ remoteCommand: 'sh', args: ['-c', 'printf "a\\r\\nb\\n"; printf "e1\\n" >&2; exit 3'] });
    await h.run('waitForExit', job);
    const r = await h.run('collectResult', job);
    expect(r.output).toMatchObject({ stdout: 'a\r\nb\n', stderr: 'e1\n' });
    expect((await podmanInspect(job.containerId)).Config.Tty).toBe(false);
  });

  it('writes stdout and stderr to separate files, or both to one when joined', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-files-'));
    const cmd = { remoteCommand: 'sh', args: ['-c', 'echo o1; echo e1 >&2; echo o2'] };
    const apart = await submit({ ...cmd, outputPath: join(dir, 'o'), errorPath: join(dir, 'e') });
    await h.run('waitForExit', apart);
    await h.run('collectResult', apart, { outputPath: join(dir, 'o'), errorPath: join(dir, 'e') });
    expect(await readFile(join(dir, 'o'), 'utf8')).toBe('o1\no2\n');
    expect(await readFile(join(dir, 'e'), 'utf8')).toBe('e1\n');

    const joined = await submit({ ...cmd, outputPath: join(dir, 'j'), joinFiles: true });
    await h.run('waitForExit', joined);
    await h.run('collectResult', joined, { outputPath: join(dir, 'j'), joinFiles: true });
    expect((await readFile(join(dir, 'j'), 'utf8')).split('\n').sort()).toEqual(['', 'e1', 'o1', 'o2']);
  });

  it('feeds inputPath to the job as its stdin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-in-'));
    const inputPath = join(dir, 'in.txt');
    await writeFile(inputPath, 'one\ntwo\nthree\n');
    const job = await submit({ remoteCommand: 'sh', args: ['-c', 'cat; echo end'], inputPath });
    await h.run('waitForExit', job);
    const r = await h.run('collectResult', job);
    expect(
      r.output?.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim()),
    ).toEqual(['one', 'two', 'three', 'end']);
  });

  it('bounds the output a result carries', async () => {
    const small = new ActivityHarness({ logLimitBytes: 100 });
    const job = await submit({ remoteCommand: 'sh', args: ['-c', 'yes x | head -c 5000'] });
    await h.run('waitForExit', job);
    const r = await small.run('collectResult', job);
    expect(r.output?.stdout).toHaveLength(100);
    expect(r.output?.stdoutTruncated).toBe(4900);
    const logs = await h.run('jobLogs', job, 10);
    expect(logs).toMatchObject({ stdout: 'x\nx\nx\nx\nx\n', stdoutTruncated: 4990, stderr: '' });
  });

  it('keeps an rm job’s container when its result is collected (the worker removes it once the job has closed)', async () => {
    const job = await submit({
      remoteCommand: 'sh',
      args: ['-c', 'echo bye; exit 4'],
      extension: { extensionList: { rm: 'TRUE' } },
    });
    const ended = await h.run('waitForExit', job);
    expect(ended).toMatchObject({ state: 'failed', info: { exitStatus: 4 } });
    const r = await h.run('collectResult', job);
    expect(r.output?.stdout).toBe('bye\n');
    expect(await sessionContainers(session)).toContain(job.containerId.slice(0, 12));
    expect((await h.run('inspectJob', job)).state).toBe('failed');
  });
});

describe('host files and names the property test found wanting', () => {
  it('refuses, before any container, output files that cannot be written and an input that is a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-bad-files-'));
    await writeFile(join(dir, 'file'), '');
    for (const bad of [
      { outputPath: dir }, // a directory: the worker crashed on the write stream's 'error' event
      { errorPath: '/proc/pt-nope/err' }, // fs.mkdir(recursive) never settled: the collection hung
      { outputPath: join(dir, 'file/below') },
      { inputPath: dir },
    ]) {
      const jobId = `${session}.bad-files-${++seq}`;
      const err = await submit({ remoteCommand: 'true', ...bad }, jobId).catch((e: unknown) => e);
      expect(err, JSON.stringify(bad)).toMatchObject({ kind: 'InvalidArgument' });
      expect((await h.run('inspectJob', { jobId })).state).toBe('undetermined');
    }
  });

  it('a collection whose output file cannot be written any more keeps the container and says why, not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-gone-'));
    const outputPath = join(dir, 'out.txt');
    const job = await submit({ remoteCommand: 'echo', args: ['x'], outputPath });
    await h.run('waitForExit', job);
    await rm(outputPath);
    await mkdir(outputPath); // the file became a directory meanwhile
    const r = await h.run('collectResult', job, { outputPath });
    expect(r.state).toBe('done');
    expect(r.info?.annotation).toMatch(new RegExp(`^InvalidArgument: ${outputPath} cannot be written`));
    expect(r.output?.stdout).toBe('x\n');
    // Kept: nothing lost. Podman says stopped until its cleanup after the exit is done, then exited.
    expect(['exited', 'stopped']).toContain((await podmanInspect(job.containerId)).State.Status);
  });

  it('runs two jobs of one name submitted at once: the second goes by its derived name', async () => {
    const jobName = `pt-same-${seq++}-${Date.now()}`;
    const jobs = await Promise.all([1, 2, 3].map(() => submit({ remoteCommand: 'true', jobName })));
    const names = jobs.map((j) => j.name).sort();
    expect(names.filter((n) => n === jobName)).toHaveLength(1);
    expect(names.filter((n) => n.startsWith('podman-tracker-'))).toHaveLength(2);
    for (const j of jobs) expect((await h.run('waitForExit', j)).state).toBe('done');
  });
});

describe('job control', () => {
  it('suspends, resumes and terminates a job', async () => {
    const job = await submit({ remoteCommand: 'sleep', args: ['100'] });
    await h.run('pauseJob', job);
    expect((await h.run('inspectJob', job)).state).toBe('suspended');
    expect((await podmanInspect(job.containerId)).State.Paused).toBe(true);
    await h.run('pauseJob', job); // again: harmless
    await h.run('unpauseJob', job);
    expect((await h.run('inspectJob', job)).state).toBe('running');
    await h.run('pauseJob', job);
    await h.run('killJob', job); // terminate works on a suspended job too
    const s = await h.run('waitForExit', job);
    expect(s).toMatchObject({ state: 'failed', info: { terminationSignal: 'SIGKILL' } });
  });

  it('delivers the signal it is given', async () => {
    const job = await submit({
      remoteCommand: 'sh',
      args: ['-c', 'trap "echo got TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done'],
    });
    // Signalled once the shell has set its trap (it says so), not after a guess at how long that takes.
    for (let i = 0; i < 100 && (await h.run('jobLogs', job)).stdout !== 'ready\n'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await h.run('killJob', job, 'SIGTERM');
    const s = await h.run('waitForExit', job);
    expect(s).toMatchObject({ state: 'done', info: { exitStatus: 0 } });
    expect((await h.run('jobLogs', job)).stdout).toBe('ready\ngot TERM\n');
  });

  it('reports a restarting container as running/restarting', async () => {
    // The first run exits; the run its policy starts again stays up (the container's files outlive a
    // restart), however long the restart takes on this machine.
    const job = await submit({
      remoteCommand: 'sh',
      args: ['-c', '[ -e /ran-once ] && exec sleep 600; touch /ran-once; exit 1'],
      extension: { extensionList: { restart: 'always' } },
    });
    const seen = new Set<string>();
    for (const until = Date.now() + 30_000; Date.now() < until && !seen.has('running/restarting');) {
      const s = await h.run('inspectJob', job);
      seen.add(`${s.state}/${s.subState}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toContain('running/restarting');
    await h.run('killJob', job);
    // Killed by the user, it stays down: the wait ends instead of expecting another restart.
    expect((await h.run('waitForExit', job)).state).toBe('failed');
  });

  it('terminates a job that its restart policy keeps starting again: it stays down', async () => {
    // Podman 4.3 takes no signal between an exit and the restart it is about to make: a kill left
    // at that was lost, and the restarts went on.
    for (let round = 0; round < 3; round++) {
      const job = await submit({
        remoteCommand: 'sh',
        args: ['-c', 'sleep 0.1; exit 1'],
        extension: { extensionList: { restart: 'always' } },
      });
      // Killed as soon as a look finds it between an exit and its restart (a look Podman 4.3 fails
      // as the process exits is only looked again).
      let between = false;
      for (let i = 0; i < 500 && !between; i++) {
        const c = await podmanClient()
          .getContainer(job.containerId)
          .inspect()
          .catch(() => undefined);
        between = c !== undefined && !c.State.Running;
      }
      expect(between, 'a look found it between an exit and its restart').toBe(true);
      await h.run('killJob', job);
      expect((await h.run('waitForExit', job)).state).toBe('failed');
      const down = await podmanInspect(job.containerId);
      await new Promise((r) => setTimeout(r, 500));
      expect(await podmanInspect(job.containerId)).toMatchObject({
        State: { Status: 'exited' },
        RestartCount: down.RestartCount,
      });
      // Stopped by the user, it is not restarted: a second kill finds it down for good (once its
      // restart would have come), not a restart loop to fight.
      if (round === 0) await expect(h.run('killJob', job)).resolves.toBeUndefined();
    }
  });

  it('waits through the restarts of a restart policy to the final exit', async () => {
    const job = await submit({
      remoteCommand: 'sh',
      args: ['-c', 'sleep 0.2; exit 2'],
      extension: { extensionList: { restart: 'on-failure:2' } },
    });
    const s = await h.run('waitForExit', job);
    expect(s).toMatchObject({ state: 'failed', info: { exitStatus: 2 } });
    expect(['exited', 'stopped']).toContain((await podmanInspect(job.containerId)).State.Status);
    const inspect = JSON.parse(
      await podman('container', 'inspect', '--format', '{{json .RestartCount}}', job.containerId),
    );
    expect(inspect).toBe(2);
  });

  it('errors on control of a job without a container', async () => {
    const ghost = { jobId: `${session}.no-such-job` };
    for (const action of ['pauseJob', 'unpauseJob', 'killJob', 'jobLogs'] as const) {
      const err = await h.run(action, ghost).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DrmaaError);
      expect((err as DrmaaError).kind).toBe('JobNotExists');
    }
    expect((await h.run('inspectJob', ghost)).state).toBe('undetermined');
  });
});

describe('categories', () => {
  it('lists the local images', async () => {
    expect(await h.run('listImages')).toContain(stack.testImage);
  });
});
