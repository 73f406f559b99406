// Every JobTemplate field and extension, submitted to a real Podman and read back with Podman's
// own inspect; and bad input, refused with a typed error and no container left behind.
import { createServer, type Server } from 'node:net';
import { mkdtemp, readlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrmaaError } from '../../common/errors.js';
import { NO_POWERS } from '../../common/powers.js';
import type { JobTemplateInput } from '../../common/template.js';
import {
  ActivityHarness,
  podman,
  podmanInspect,
  removeSession,
  sessionContainers,
  stack,
  uniqueSession,
} from '../helpers.js';

const session = uniqueSession('mapping');
// The powers these mappings need, granted as an operator would (bind mounts from the temp folder only).
const h = new ActivityHarness({
  powers: {
    ...NO_POWERS,
    privileged: true,
    hostNamespaces: ['ipc', 'uts', 'pid'],
    mountAllow: [tmpdir()],
    bindMounts: true,
  },
});
let seq = 0;
let stageDir: string;

beforeAll(async () => {
  stageDir = await mkdtemp(join(tmpdir(), 'pt-stage-'));
  await writeFile(join(stageDir, 'data.txt'), 'staged\n');
});
afterAll(() => removeSession(session));

async function submitAndInspect(template: Partial<JobTemplateInput>) {
  const jobId = `${session}.map-${++seq}`;
  const r = await h.run('createAndStartContainer', {
    jobId,
    session,
    template: { jobCategory: stack.testImage, remoteCommand: 'sleep', args: ['30'], ...template },
  });
  const inspect = await podmanInspect(r.containerId);
  await h.run('killJob', { jobId, containerId: r.containerId });
  return { ...r, jobId, inspect };
}

describe('template fields, read back from Podman', () => {
  it('remoteCommand + args, jobCategory, candidateMachines, workingDirectory, jobEnvironment, jobName', async () => {
    const jobName = `named-${session}`;
    const { inspect, jobId } = await submitAndInspect({
      remoteCommand: 'sleep',
      args: ['31'],
      candidateMachines: ['compute-7'],
      workingDirectory: '/tmp',
      jobEnvironment: { ALPHA: 'one', BETA: 'two=2' },
      jobName,
    });
    expect(inspect.Config.Cmd).toEqual(['sleep', '31']);
    expect(inspect.Config.Hostname).toBe('compute-7');
    expect(inspect.Config.WorkingDir).toBe('/tmp');
    expect(inspect.Config.Env).toEqual(expect.arrayContaining(['ALPHA=one', 'BETA=two=2']));
    expect(inspect.Name).toBe(jobName);
    expect(inspect.Config.Labels).toMatchObject({
      'podman-tracker.jobName': jobName,
      'podman-tracker.job': jobId,
      'podman-tracker.session': session,
    });
    expect(JSON.parse(inspect.Config.Labels['podman-tracker.template']!)).toMatchObject({ jobName, args: ['31'] });
  });

  it('keeps the image default command when remoteCommand is empty', async () => {
    const { inspect } = await submitAndInspect({ remoteCommand: '', args: undefined });
    expect(inspect.Config.Cmd).toEqual(['/bin/sh']);
  });

  it('a jobName already in use falls back to the name derived from the job ID', async () => {
    const jobName = `taken-${session}`;
    const first = await submitAndInspect({ jobName });
    const second = await submitAndInspect({ jobName });
    expect(first.inspect.Name).toBe(jobName);
    expect(second.inspect.Name).toBe(`podman-tracker-${second.jobId}`);
    expect(second.inspect.Config.Labels['podman-tracker.jobName']).toBe(jobName);
  });

  it('stageInFiles become bind mounts', async () => {
    const { inspect, jobId, containerId } = await submitAndInspect({
      remoteCommand: 'cat',
      args: ['/data/data.txt'],
      stageInFiles: { [stageDir]: '/data' },
    });
    expect(inspect.HostConfig.Binds?.[0]).toMatch(new RegExp(`^${stageDir}:/data`));
    await h.run('waitForExit', { jobId, containerId });
    expect((await h.run('jobLogs', { jobId, containerId })).stdout).toBe('staged\n');
  });

  it('resourceLimits and minPhysMemory become cgroup limits and a reservation', async () => {
    const { inspect } = await submitAndInspect({
      resourceLimits: { memory: '64m', cpus: '0.5', pids: '50', OPEN_FILES: '1024' },
      minPhysMemory: 16 * 1024,
      // Ulimits given by a job replace Podman's configured defaults; where the sandbox lacks
      // CAP_SYS_RESOURCE, nproc must stay within the hard limit (see README, troubleshooting).
      extension: { extensionList: { ulimit: 'nproc=4096' } },
    });
    expect(inspect.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(inspect.HostConfig.NanoCpus).toBe(500_000_000);
    expect(inspect.HostConfig.PidsLimit).toBe(50);
    expect(inspect.HostConfig.MemoryReservation).toBe(16 * 1024 * 1024);
    expect(inspect.HostConfig.Ulimits).toEqual(
      expect.arrayContaining([expect.objectContaining({ Name: 'RLIMIT_NOFILE', Soft: 1024, Hard: 1024 })]),
    );
  });

  it('inputPath opens stdin; there is never a TTY', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-in-'));
    await writeFile(join(dir, 'in'), 'x\n');
    const { inspect } = await submitAndInspect({ inputPath: join(dir, 'in') });
    expect(inspect.Config.OpenStdin).toBe(true);
    expect(inspect.Config.Tty).toBe(false);
  });
});

describe('extensions, read back from Podman', () => {
  const ext = (extensionList: Record<string, string>) => submitAndInspect({ extension: { extensionList } });

  it('user', async () => {
    expect((await ext({ user: 'nobody' })).inspect.Config.User).toBe('nobody');
  });

  it('exposedPorts with host IP and protocol', async () => {
    const [a, b] = await freePorts(2);
    const { inspect } = await ext({ exposedPorts: `127.0.0.1:${a}:80,${b}:53/udp` });
    expect(inspect.HostConfig.PortBindings?.['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(a) }]);
    expect(inspect.HostConfig.PortBindings?.['53/udp']?.[0]?.HostPort).toBe(String(b));
  });

  it('privileged', async () => {
    expect((await ext({ privileged: 'TRUE' })).inspect.HostConfig.Privileged).toBe(true);
    expect((await ext({ privileged: 'false' })).inspect.HostConfig.Privileged).toBe(false);
  });

  it('restart', async () => {
    expect((await ext({ restart: 'on-failure:3' })).inspect.HostConfig.RestartPolicy).toEqual({
      Name: 'on-failure',
      MaximumRetryCount: 3,
    });
  });

  it('ipc, uts, pid namespaces', async () => {
    const { inspect } = await ext({ ipc: 'host', uts: 'host', pid: 'host' });
    expect(inspect.HostConfig.UTSMode).toBe('host');
    expect(inspect.HostConfig.PidMode).toBe('host');
    // Podman 4.3's inspect prints "shareable" for an IPC host namespace: ask the kernel instead.
    const jobId = `${session}.ns-${++seq}`;
    const r = await h.run('createAndStartContainer', {
      jobId,
      session,
      template: {
        jobCategory: stack.testImage,
        remoteCommand: 'sh',
        args: ['-c', 'for ns in ipc uts pid; do readlink /proc/self/ns/$ns; done'],
        extension: { extensionList: { ipc: 'host', uts: 'host', pid: 'host' } },
      },
    });
    await h.run('waitForExit', { jobId, containerId: r.containerId });
    const inside = (await h.run('jobLogs', { jobId, containerId: r.containerId })).stdout.trim().split('\n');
    const host = await Promise.all(['ipc', 'uts', 'pid'].map((ns) => readlink(`/proc/self/ns/${ns}`)));
    expect(inside).toEqual(host);
  });

  it('rm: marked for removal, not removed by Podman, nor by the collection (the worker removes it once the job has closed)', async () => {
    const { jobId, containerId, inspect } = await ext({ rm: 'true' });
    expect(inspect.Config.Labels['podman-tracker.rm']).toBe('true');
    expect(inspect.HostConfig.AutoRemove).toBe(false);
    await h.run('waitForExit', { jobId, containerId });
    await h.run('collectResult', { jobId, containerId });
    expect((await podmanInspect(containerId)).State.Running).toBe(false);
  });

  it('entrypoint, as a word or a JSON array', async () => {
    // Podman 4.3's CLI prints the entrypoint as one string.
    expect([(await ext({ entrypoint: '/bin/sleep' })).inspect.Config.Entrypoint].flat().join(' ')).toBe('/bin/sleep');
    const jobId = `${session}.ep-${++seq}`;
    const r = await h.run('createAndStartContainer', {
      jobId,
      session,
      template: {
        jobCategory: stack.testImage,
        args: ['echo via-$0', 'sh'],
        extension: { extensionList: { entrypoint: '["/bin/sh","-c"]' } },
      },
    });
    expect([(await podmanInspect(r.containerId)).Config.Entrypoint].flat().join(' ')).toBe('/bin/sh -c');
    await h.run('waitForExit', { jobId, containerId: r.containerId });
    expect((await h.run('jobLogs', { jobId, containerId: r.containerId })).stdout).toBe('via-sh\n');
  });

  it('net', async () => {
    expect((await ext({ net: 'none' })).inspect.HostConfig.NetworkMode).toBe('none');
  });

  it('shm-size', async () => {
    expect((await ext({ 'shm-size': '128m' })).inspect.HostConfig.ShmSize).toBe(128 * 1024 * 1024);
  });

  it('ulimit', async () => {
    const { inspect } = await ext({ ulimit: 'nofile=512:1024,stack=67108864,nproc=4096' });
    expect(inspect.HostConfig.Ulimits).toEqual(
      expect.arrayContaining([
        { Name: 'RLIMIT_NOFILE', Soft: 512, Hard: 1024 },
        { Name: 'RLIMIT_STACK', Soft: 67108864, Hard: 67108864 },
      ]),
    );
  });
});

describe('image pulls', () => {
  it('pulls an image that only the local registry has', async () => {
    await podman('rmi', '-f', stack.pullImage).catch(() => undefined);
    const r = await h.run('createAndStartContainer', {
      jobId: `${session}.pulled`,
      session,
      template: { jobCategory: stack.pullImage, remoteCommand: 'true' },
    });
    expect((await h.run('waitForExit', { jobId: `${session}.pulled`, containerId: r.containerId })).state).toBe('done');
    expect(await h.run('listImages')).toContain(stack.pullImage);
  });

  it('with pulls disabled, a missing image is a clear error and nothing is created', async () => {
    await removeSession(session);
    await podman('rmi', '-f', stack.pullImage).catch(() => undefined);
    const noPull = new ActivityHarness({ disableImagePull: true });
    const err = await noPull
      .run('createAndStartContainer', {
        jobId: `${session}.nopull`,
        session,
        template: { jobCategory: stack.pullImage },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DrmaaError);
    expect((err as DrmaaError).kind).toBe('InvalidArgument');
    expect((err as DrmaaError).message).toMatch(/pulls are disabled/);
    expect(await sessionContainers(session)).toEqual([]);
  });
});

describe('bad input: a typed error and no container left behind', () => {
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  const cases: Array<[string, () => unknown, string]> = [
    ['a wrong type', () => ({ jobCategory: stack.testImage, args: 'not-a-list' }), 'InvalidArgument'],
    ['an unknown field', () => ({ jobCategory: stack.testImage, colour: 'blue' }), 'InvalidArgument'],
    ['an unknown extension', () => ({ jobCategory: stack.testImage, extension: { extensionList: { cuteness: '11' } } }), 'UnsupportedAttribute'],
    ['two candidate machines', () => ({ jobCategory: stack.testImage, candidateMachines: ['a', 'b'] }), 'InvalidArgument'],
    ['a bad port spec', () => ({ jobCategory: stack.testImage, extension: { extensionList: { exposedPorts: '80:99999' } } }), 'InvalidArgument'],
    ['a port spec that is no spec', () => ({ jobCategory: stack.testImage, extension: { extensionList: { exposedPorts: 'http' } } }), 'InvalidArgument'],
    ['an empty image', () => ({ jobCategory: '' }), 'InvalidArgument'],
    ['no image', () => ({ remoteCommand: 'true' }), 'InvalidArgument'],
    ['email', () => ({ jobCategory: stack.testImage, email: ['a@b.c'] }), 'UnsupportedAttribute'],
    ['an unknown image', () => ({ jobCategory: 'localhost/podman-tracker/no-such-image:1' }), 'InvalidArgument'],
    ['a missing input file', () => ({ jobCategory: stack.testImage, inputPath: '/nonexistent/in' }), 'InvalidArgument'],
    ['a command that does not exist', () => ({ jobCategory: stack.testImage, remoteCommand: '/no/such/binary' }), 'InvalidArgument'],
    ['a host port already taken', () => ({ jobCategory: stack.testImage, remoteCommand: 'sleep', args: ['5'], extension: { extensionList: { exposedPorts: `127.0.0.1:${busyPort}:80` } } }), 'OutOfResource'],
  ]; // prettier-ignore

  it.each(cases)('%s', async (_name, template, kind) => {
    const jobId = `${session}.bad-${++seq}`;
    const err = await h
      .run('createAndStartContainer', { jobId, session, template: template() as JobTemplateInput })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DrmaaError);
    expect((err as DrmaaError).kind).toBe(kind);
    expect((err as DrmaaError).nonRetryable).toBe(true);
    const left = await Promise.all((await sessionContainers(session)).map((id) => podmanInspect(id)));
    expect(left.filter((c) => c.Config.Labels['podman-tracker.job'] === jobId)).toEqual([]);
  });
});

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => r(s)); })), // prettier-ignore
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
