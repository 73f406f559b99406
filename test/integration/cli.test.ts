// The podman-tracker command as scripts use it: every command and its --json form, against the
// real stack (run `make build` first: this runs bin/podman-tracker, as users do).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../helpers.js';
import { eventually, startTracker, type TrackerFixture } from './fixtures.js';

const bin = fileURLToPath(new URL('../../bin/podman-tracker', import.meta.url));
let f: TrackerFixture;
let dir: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, PODMAN_TRACKER_SESSION: f.session, PODMAN_TRACKER_TASK_QUEUE: f.taskQueue } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  expect(r, `${args.join(' ')}: ${r.stderr}`).toMatchObject({ code: 0 });
  return r.stdout;
}

const image = () => ['--image', stack.testImage];

beforeAll(async () => {
  f = await startTracker('cli');
  dir = await mkdtemp(join(tmpdir(), 'pt-cli-'));
});
afterAll(() => f?.close());

describe('run: a container as a function call', () => {
  it.each([0, 1, 42])('exits with the job’s status %d, stdout and stderr apart', async (status) => {
    const r = await cli('run', ...image(), '--', 'sh', '-c', `echo out; echo err >&2; exit ${status}`);
    expect(r).toEqual({ code: status, stdout: 'out\n', stderr: 'err\n' });
  });

  it('takes input by args, env and stdin', async () => {
    const input = join(dir, 'in.txt');
    await writeFile(input, 'b\na\n');
    const r = await cli(
      'run',
      ...image(),
      '--env',
      'GREETING=hello',
      '--input',
      input,
      'sh',
      '-c',
      'echo $GREETING $0; sort',
      'world',
    );
    expect(r).toEqual({ code: 0, stdout: 'hello world\na\nb\n', stderr: '' });
  });

  it('exits 127 when the job could not start because its command is not there, as podman run does', async () => {
    const r = await cli('run', ...image(), '/no/such/command');
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/did not start: startFailed/);
  });
});

describe('submitting and controlling', () => {
  it('submit, state, info, template, control, wait, logs, delete', async () => {
    const id = (await ok('submit', ...image(), '--name', 'cli-job', 'sh', '-c', 'echo started; sleep 100')).trim();
    expect(id).toMatch(new RegExp(`^${f.session}\\.`));
    await ok('wait', id, '--state', 'running', '--timeout', '30s');
    expect(await ok('state', id)).toBe('running\n');
    expect(JSON.parse(await ok('--json', 'state', id))).toEqual({ state: 'running', subState: '' });

    const info = JSON.parse(await ok('info', id));
    expect(info).toMatchObject({ id, state: 'running', allocatedMachines: [f.worker.hostName] });
    expect(Date.parse(info.dispatchTime)).toBeGreaterThan(0);
    expect(JSON.parse(await ok('template', id))).toMatchObject({
      jobCategory: stack.testImage,
      jobName: 'cli-job',
      remoteCommand: 'sh',
    });

    expect(await ok('suspend', id)).toBe('suspended\n');
    expect(JSON.parse(await ok('--json', 'resume', id))).toEqual({ state: 'running', subState: '' });
    await eventually(async () => expect(await ok('logs', id)).toBe('started\n'));
    expect(await ok('logs', '--stderr', id)).toBe('');

    const timedOut = await cli('wait', id, '--timeout', '500');
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/^error: Timeout: /);
    const hold = await cli('--json', 'hold', id);
    expect(hold.code).toBe(1);
    expect(JSON.parse(hold.stderr)).toMatchObject({ error: { kind: 'InvalidState' } });

    await ok('terminate', id);
    expect(await ok('wait', id)).toBe('failed terminated\n');
    await eventually(async () => expect((await ok('list')).split('\n')).toContain(id));
    expect(JSON.parse(await ok('--json', 'list'))).toEqual(expect.arrayContaining([{ id, state: 'failed' }]));
    await ok('delete', id);
    await eventually(async () => expect((await ok('list')).split('\n')).not.toContain(id));
  });

  it('hold and release with --hold; template file with flags over it; output files', async () => {
    const template = join(dir, 'job.json');
    const output = join(dir, 'out.txt');
    await writeFile(
      template,
      JSON.stringify({
        jobCategory: stack.testImage,
        remoteCommand: 'echo',
        args: ['from file'],
        jobEnvironment: { A: '1' },
      }),
    );
    const id = (await ok('submit', '--template', template, '--hold', '--output', output, '--env', 'B=2')).trim();
    expect(await ok('state', id)).toBe('queuedHeld\n');
    expect(JSON.parse(await ok('template', id))).toMatchObject({
      jobEnvironment: { A: '1', B: '2' },
      submitAsHold: true,
    });
    expect(await ok('release', id)).toBe('queued\n');
    expect(await ok('wait', id, '--timeout', '30s')).toBe('done\n');
    expect(await readFile(output, 'utf8')).toBe('from file\n');
  });
});

describe('--json forms', () => {
  it('submit, suspend, terminate, wait, logs, delete, submit-array', async () => {
    const { id } = JSON.parse(await ok('--json', 'submit', ...image(), 'sh', '-c', 'echo hi; sleep 100'));
    expect(JSON.parse(await ok('--json', 'wait', id, '--state', 'running', '--timeout', '30s'))).toEqual({
      state: 'running',
      subState: '',
    });
    expect(JSON.parse(await ok('--json', 'suspend', id))).toEqual({ state: 'suspended', subState: '' });
    await eventually(async () =>
      expect(JSON.parse(await ok('--json', 'logs', id))).toMatchObject({ stdout: 'hi\n', stderr: '' }),
    );
    await ok('--json', 'terminate', id);
    expect(JSON.parse(await ok('--json', 'wait', id))).toEqual({ state: 'failed', subState: 'terminated' });
    expect(JSON.parse(await ok('--json', 'delete', id))).toEqual({ deleted: id });
    const array = JSON.parse(await ok('--json', 'submit-array', '--begin', '1', '--end', '2', ...image(), 'true'));
    expect(array.id).toMatch(new RegExp(`^${f.session}\\.`));
    await ok('wait', array.id, '--timeout', '30s');
  });
});

describe('array jobs', () => {
  it('submit-array --wait prints plain progress lines when not on a terminal, and fails if a task failed', async () => {
    const r = await cli(
      'submit-array',
      '--begin',
      '1',
      '--end',
      '4',
      '--max-parallel',
      '2',
      '--wait',
      ...image(),
      '--',
      'sh',
      '-c',
      'exit $((TASK_ID == 3))',
    );
    expect(r.code).toBe(1);
    const id = r.stdout.trim();
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('progress: '));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)).toBe('progress: 4/4 queued 0 running 0 done 3 failed 1');
    expect(r.stderr).toMatch(/1 of 4 tasks failed: 3/);
    expect((await ok('list-array', id)).trim().split('\n')).toEqual([1, 2, 3, 4].map((t) => `${id}.${t}`));
    expect(JSON.parse(await ok('--json', 'list-array', id))).toHaveLength(4);
  });

  it('submit-array without --wait prints the ID; control of the array job reaches its tasks', async () => {
    const id = (
      await ok('submit-array', '--begin', '1', '--end', '3', '--max-parallel', '1', ...image(), 'sleep', '100')
    ).trim();
    await ok('wait', `${id}.1`, '--state', 'running', '--timeout', '30s');
    expect(await ok('state', `${id}.2`)).toBe('queued\n');
    await ok('terminate', id);
    expect(await ok('wait', id, '--timeout', '30s')).toBe('failed\n');
    expect(await ok('state', `${id}.3`)).toBe('failed terminated\n');
  });
});

describe('errors', () => {
  it('an unknown job is JobNotExists', async () => {
    const r = await cli('state', `${f.session}.no-such-job`);
    expect(r).toMatchObject({ code: 1, stderr: `error: JobNotExists: job ${f.session}.no-such-job does not exist\n` });
    const j = await cli('--json', 'info', `${f.session}.no-such-job`);
    expect(JSON.parse(j.stderr)).toEqual({
      error: { kind: 'JobNotExists', message: `job ${f.session}.no-such-job does not exist` },
    });
  });

  it('an invalid template file is InvalidArgument, and nothing is submitted', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ jobCategory: stack.testImage, args: 'not a list' }));
    const r = await cli('submit', '--template', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: InvalidArgument: invalid job template: args/);
    await writeFile(bad, '{ nope');
    expect((await cli('submit', '--template', bad)).stderr).toMatch(/^error: InvalidArgument: .* is not JSON/);
  });

  it('a bad duration is InvalidArgument', async () => {
    const r = await cli('wait', 'x', '--timeout', 'soon');
    expect(r).toMatchObject({
      code: 1,
      stderr: 'error: InvalidArgument: --timeout "soon" is not a duration (30s, 5m, 1h, or milliseconds)\n',
    });
  });

  it('a usage error exits 2', async () => {
    expect((await cli('state')).code).toBe(2);
    expect((await cli('no-such-command')).code).toBe(2);
  });
});

describe('categories', () => {
  it('lists the images, one a line', async () => {
    expect((await ok('categories')).split('\n')).toContain(stack.testImage);
    expect(JSON.parse(await ok('--json', 'categories'))).toContain(stack.testImage);
  });
});
