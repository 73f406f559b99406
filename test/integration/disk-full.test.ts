// A full disk: Podman's storage (a Podman API service of this test's own, its storage on a 64 MiB
// tmpfs, so the stack's own storage is never filled) and the worker's disk for output files (another
// small tmpfs). Jobs use no network: the second Podman service never touches the stack's bridge.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../common/convert.js';
import { podman, requireEnv, stack } from '../helpers.js';
import { startTracker, type TrackerFixture } from './fixtures.js';

const run = promisify(execFile);
let dir: string;
let service: ChildProcess | undefined;
let f: TrackerFixture;
const mounts: string[] = [];

/** Our own Podman CLI view of the second service. */
const ours = async (...args: string[]) =>
  (await run('podman', ['--remote', '--url', `unix://${dir}/podman.sock`, ...args])).stdout;

async function tmpfs(path: string, size: string) {
  await mkdir(path, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  mounts.push(path);
}

/** Fills a filesystem to the last few KiB, as a runaway log or dataset would. */
async function fill(path: string): Promise<string> {
  const s = await statfs(path);
  const filler = join(path, 'filler');
  await run('fallocate', ['-l', String(s.bavail * s.bsize - 4096), filler]);
  return filler;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pt-diskfull-'));
  await tmpfs(join(dir, 'storage'), '64m');
  await tmpfs(join(dir, 'out'), '1m');
  // No CONTAINER_HOST: with it, podman would act as a remote client of the stack's service.
  const { CONTAINER_HOST: _remote, ...local } = process.env;
  const env = {
    ...local,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
  };
  // The stack's engine settings (runtime, ulimits, log driver) with a temporary folder of our own.
  const conf = await readFile(requireEnv('CONTAINERS_CONF'), 'utf8');
  await writeFile(env.CONTAINERS_CONF, conf.replace(/^tmp_dir = .*$/m, `tmp_dir = "${dir}/tmp"`));
  await writeFile(
    env.CONTAINERS_STORAGE_CONF,
    `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/run"\n`,
  );
  await podman('save', '-o', join(dir, 'image.tar'), stack.testImage);
  await run('podman', ['load', '-i', join(dir, 'image.tar')], { env });
  service = spawn('podman', ['system', 'service', '--time=0', `unix://${dir}/podman.sock`], { env, stdio: 'inherit' });
  for (let i = 0; i < 100 && !existsSync(join(dir, 'podman.sock')); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(join(dir, 'podman.sock'))) throw new Error(`the second Podman service made no socket in ${dir}`);
  f = await startTracker('diskfull', { podmanUri: `unix://${dir}/podman.sock` });
}, 120_000);

afterAll(async () => {
  await f?.close();
  if (dir) await ours('rm', '-af').catch(() => undefined);
  // Stopped before its storage is unmounted: it keeps its state database open there until it exits.
  if (service && service.exitCode === null && service.signalCode === null) {
    const exited = once(service, 'exit');
    service.kill('SIGTERM');
    const stubborn = setTimeout(() => service?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(stubborn);
  }
  // Podman's overlay driver mounts inside its graphroot: unmount the whole tree.
  for (const m of mounts.reverse()) await run('umount', ['-R', m]).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const job = (script: string, extra: object = {}) => ({
  jobCategory: stack.testImage,
  remoteCommand: 'sh',
  args: ['-c', script],
  extension: { extensionList: { net: 'none' } },
  ...extra,
});

describe('a full disk', () => {
  it("Podman's storage full: a running job ends right, a new one is refused as OutOfResource and leaves nothing, and once there is room jobs run again", async () => {
    const before = await f.tracker.addJob(job('sleep 4; exit 5'));
    await f.tracker.wait(before, 30_000, ['running']);
    const filler = await fill(join(dir, 'storage'));
    try {
      const refused = await f.tracker.addJob(job('echo never'));
      const r = await f.tracker.result(refused);
      expect(r.info).toMatchObject({ state: 'failed', subState: 'startFailed' });
      expect(r.info.annotation).toMatch(/^OutOfResource: .*no space left in Podman's storage/);
      expect(await ours('ps', '-a', '-q', '--filter', `label=${LABEL.job}=${refused}`)).toBe('');
      // The job that was running when the disk filled ends with its own exit status.
      expect((await f.tracker.result(before)).info).toMatchObject({ state: 'failed', exitStatus: 5 });
    } finally {
      await rm(filler);
    }
    const after = await f.tracker.result(await f.tracker.addJob(job('echo room again')));
    expect(after.info.state).toBe('done');
    expect(after.stdout).toBe('room again\n');
  });

  it("the worker's disk full for output files: the job's state is right, the container and its output are kept, and JobInfo says why", async () => {
    const outputPath = join(dir, 'out', 'result.txt');
    const filler = await fill(join(dir, 'out'));
    try {
      const id = await f.tracker.addJob(
        job('head -c 65536 /dev/zero | tr "\\0" x; echo; echo tail line', {
          outputPath,
          extension: { extensionList: { net: 'none', rm: 'true' } },
        }),
      );
      const r = await f.tracker.result(id);
      expect(r.info).toMatchObject({ state: 'done', exitStatus: 0 });
      expect(r.info.annotation).toMatch(new RegExp(`^OutOfResource: writing output file ${outputPath} .*ENOSPC`));
      expect(r.stdout.endsWith('tail line\n')).toBe(true);
      // Kept despite rm, so nothing is lost: the output is still in Podman.
      const kept = await ours('logs', `podman-tracker-${id}`);
      expect(kept.endsWith('tail line\n')).toBe(true);
    } finally {
      await rm(filler);
    }
  });
});
