// Jobs survive crashes: of the worker (kill -9), of Podman's API service, of the Temporal server.
// Every job ends with the right exit status and exactly one container per job: nothing lost,
// nothing run twice.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodmanTracker } from '../../client/tracker.js';
import { containersPerJob, removeSession, requireEnv, stack, uniqueSession } from '../helpers.js';
import { startTracker } from './fixtures.js';
import { recordConcurrency } from './concurrency.js';
import { stackUp, startWorkerProcess, stopService } from './processes.js';

const job = (script: string) => ({ jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', script] });

describe('a worker killed with SIGKILL', () => {
  const session = uniqueSession('crash');
  const taskQueue = `test-${session}`;
  let connection: Connection;
  let tracker: PodmanTracker;

  beforeAll(async () => {
    connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
    tracker = new PodmanTracker({ client: new Client({ connection }), session, taskQueue });
  });
  afterAll(async () => {
    await connection?.close();
    await removeSession(session);
  });

  it('loses no job and runs none twice, single jobs and a half-done array job alike', async () => {
    const host = `crash-host-${session}`;
    const first = await startWorkerProcess(taskQueue, host);
    const jobs = await Promise.all([0, 1, 42].map((code) => tracker.addJob(job(`sleep 4; exit ${code}`))));
    const array = await tracker.addArrayJob(job('sleep 1; exit $((TASK_ID % 3 == 0))'), 1, 6, 1, 2);
    await Promise.all(jobs.map((j) => tracker.wait(j, 30_000, ['running'])));
    // Half done: the first two tasks have ended, the next ones run.
    const tasks = await tracker.listArrayJobs(array);
    await tracker.wait(tasks[1]!, 30_000, ['done', 'failed']);

    await first.kill9();
    const second = await startWorkerProcess(taskQueue, host);
    try {
      const results = await Promise.all(jobs.map((j) => tracker.result(j)));
      expect(results.map((r) => r.info.exitStatus)).toEqual([0, 1, 42]);
      expect(results.map((r) => r.info.state)).toEqual(['done', 'failed', 'failed']);
      const arrayResult = await tracker.arrayResult(array);
      expect(arrayResult).toMatchObject({ total: 6, done: 4, failed: [3, 6] });

      const counts = await containersPerJob(session);
      for (const id of [...jobs, ...tasks]) expect(counts.get(id), id).toBe(1);
    } finally {
      await second.stop();
    }
  });

  it('live output goes on after the worker that streamed it is killed: every line once, in order', async () => {
    const host = `crash-live-${session}`;
    const first = await startWorkerProcess(taskQueue, host);
    const id = await tracker.addJob(job('for i in $(seq 1 36); do echo line$i; sleep 0.5; done'));
    const lines: string[] = [];
    const live: number[] = [];
    let text = '';
    let second: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
    let restartedAt = Infinity;
    try {
      for await (const chunk of tracker.output(id)) {
        if (!('data' in chunk) || chunk.stream !== 'stdout') continue;
        text += chunk.data.toString();
        const done = text.split('\n');
        text = done.pop()!;
        lines.push(...done);
        live.push(Date.now());
        if (!second && lines.includes('line4')) {
          await first.kill9();
          second = await startWorkerProcess(taskQueue, host);
          restartedAt = Date.now();
        }
      }
      expect(lines).toEqual(Array.from({ length: 36 }, (_, i) => `line${i + 1}`));
      // The new worker's watch streamed again before the job ended: chunks came apart in time, not
      // only the result's rest at the end.
      const resumed = live.filter((t) => t > restartedAt);
      expect(Math.max(...resumed) - Math.min(...resumed)).toBeGreaterThanOrEqual(300);
      expect((await tracker.result(id)).info.exitStatus).toBe(0);
    } finally {
      await first.stop().catch(() => undefined);
      await second?.stop();
    }
  }, 120_000);

  it('a terminate that comes before the creation is seen leaves no container behind', async () => {
    const host = `crash-create-${session}`;
    const first = await startWorkerProcess(taskQueue, host);
    const rec = await recordConcurrency(session);
    // The job is created and started by its worker's first workflow task, which the kill cuts short:
    // the history has no trace of the container. The terminate comes with the task that replaces it.
    const id = await tracker.addJob(job('sleep 600'));
    await rec.running(1);
    await first.kill9();
    rec.stop();
    const terminated = tracker.jobControl(id, 'terminate');
    const second = await startWorkerProcess(taskQueue, host);
    try {
      await expect(terminated).resolves.toMatchObject({ state: 'queued', subState: 'terminated' });
      await expect(tracker.wait(id, 60_000)).resolves.toEqual({ state: 'failed', subState: 'terminated' });
      expect((await containersPerJob(session)).get(id) ?? 0).toBe(0);
    } finally {
      await second.stop();
    }
  }, 120_000);
});

describe('the stack restarted under running jobs', () => {
  it('survives a restart of Podman’s API service mid-job', async () => {
    const f = await startTracker('podman-restart');
    try {
      const id = await f.tracker.addJob(job('sleep 6; echo finished; exit 3'));
      await f.tracker.wait(id, 30_000, ['running']);
      try {
        await stopService('podman');
        await new Promise((r) => setTimeout(r, 2000));
      } finally {
        await stackUp(); // whatever happened, the next test has its Podman back
      }
      const r = await f.tracker.result(id);
      expect(r.info).toMatchObject({ state: 'failed', exitStatus: 3 });
      expect(r.stdout).toBe('finished\n');
      expect((await containersPerJob(f.session)).get(id)).toBe(1);
    } finally {
      await f.close();
    }
  });

  it('Podman killed again and again while an array job starts tasks: every task runs, once', async () => {
    // A start cut short leaves runc's state or the network's address of the container behind; the
    // next start of it fails (crash fuzz). Those tasks used to end failed/startFailed.
    const f = await startTracker('podman-kills');
    try {
      const id = await f.tracker.addArrayJob(job('sleep 0.5'), 1, 30, 1, 4);
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1500 + i * 700));
        try {
          await stopService('podman', 'SIGKILL');
          await new Promise((r) => setTimeout(r, 800));
        } finally {
          await stackUp();
        }
      }
      const tasks = await f.tracker.listArrayJobs(id);
      // Bounded, and with every task's state when it runs out: a task stuck is named.
      const ended = await f.tracker.wait(id, 120_000).catch(async (err: unknown) => {
        const states = await Promise.all(
          tasks.map(async (t) => `${t}: ${JSON.stringify(await f.tracker.jobState(t))}`),
        );
        throw new Error(`${String(err)}\n${states.join('\n')}`);
      });
      expect(ended.state).toMatch(/done|failed/);
      const r = await f.tracker.arrayResult(id);
      const failed = await Promise.all(r.failed.map(async (t) => (await f.tracker.result(`${id}.${t}`)).info));
      expect(failed).toEqual([]);
      const counts = await containersPerJob(f.session);
      expect(tasks.filter((t) => counts.get(t) !== 1)).toEqual([]);
    } finally {
      await f.close();
    }
  }, 300_000);

  it('survives a restart of the Temporal server mid-job (its SQLite file keeps the jobs)', async () => {
    const f = await startTracker('temporal-restart');
    try {
      const id = await f.tracker.addJob(job('sleep 6; echo finished'));
      await f.tracker.wait(id, 30_000, ['running']);
      try {
        await stopService('temporal');
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await stackUp();
      }
      const r = await f.tracker.result(id);
      expect(r.info).toMatchObject({ state: 'done', exitStatus: 0 });
      expect(r.stdout).toBe('finished\n');
      expect((await containersPerJob(f.session)).get(id)).toBe(1);
    } finally {
      await f.close();
    }
  });
});
