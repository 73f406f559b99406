import { describe, expect, it } from 'vitest';
import { containerNameFor, toContainerRequest } from '../../common/convert.js';
import { DrmaaError } from '../../common/errors.js';
import { parseJobTemplate, type JobTemplateInput } from '../../common/template.js';

const ctx = { jobId: 'j1', session: 's1' };
const convert = (t: JobTemplateInput) => toContainerRequest(parseJobTemplate({ jobCategory: 'img', ...t }), ctx);
const kindOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof DrmaaError) return `${e.kind}: ${e.message}`;
    throw e;
  }
  return 'no error';
};

describe('toContainerRequest', () => {
  it('maps command, image, hostname, working directory, environment and labels', () => {
    const r = convert({
      remoteCommand: 'echo',
      args: ['a', 'b'],
      candidateMachines: ['h1'],
      workingDirectory: '/w',
      jobEnvironment: { A: '1' },
      jobName: 'my.job',
      accountingString: 'proj-7',
    });
    expect(r.create).toMatchObject({
      Image: 'img',
      Cmd: ['echo', 'a', 'b'],
      Hostname: 'h1',
      WorkingDir: '/w',
      Env: ['A=1'],
      Tty: false,
    });
    expect(r.create.Labels).toMatchObject({
      'podman-tracker.job': 'j1',
      'podman-tracker.session': 's1',
      'podman-tracker.jobName': 'my.job',
      'podman-tracker.accounting': 'proj-7',
    });
    expect(r.preferredName).toBe('my.job');
    expect(r.derivedName).toBe('podman-tracker-j1');
  });

  it('keeps the image default command when remoteCommand is empty; args alone go to the entrypoint', () => {
    expect(convert({}).create.Cmd).toBeUndefined();
    expect(convert({ args: ['x'] }).create.Cmd).toEqual(['x']);
  });

  it('does not use a jobName that is not a valid container name', () => {
    expect(convert({ jobName: 'has space' }).preferredName).toBeUndefined();
  });

  it('maps gpus to a device request (no GPU here: mapping only)', () => {
    expect(convert({ extension: { extensionList: { gpus: 'all' } } }).create.HostConfig?.DeviceRequests).toEqual([
      { Driver: '', Count: -1, Capabilities: [['gpu']] },
    ]);
    expect(convert({ extension: { extensionList: { gpus: '2' } } }).create.HostConfig?.DeviceRequests?.[0]?.Count).toBe(
      2,
    );
    expect(kindOf(() => convert({ extension: { extensionList: { gpus: 'some' } } }))).toMatch(/^InvalidArgument/);
  });

  it('maps ports with host IPs (IPv4, IPv6) and protocols', () => {
    const r = convert({
      extension: { extensionList: { exposedPorts: '8080:80, 127.0.0.1:9090:90/udp,[::1]:7070:70' } },
    });
    expect(r.create.ExposedPorts).toEqual({ '80/tcp': {}, '90/udp': {}, '70/tcp': {} });
    expect(r.create.HostConfig?.PortBindings).toEqual({
      '80/tcp': [{ HostIp: '', HostPort: '8080' }],
      '90/udp': [{ HostIp: '127.0.0.1', HostPort: '9090' }],
      '70/tcp': [{ HostIp: '::1', HostPort: '7070' }],
    });
  });

  it('maps the remaining extensions', () => {
    const hc = convert({
      extension: {
        extensionList: { privileged: 'True', rm: 'TRUE', restart: 'unless-stopped', ipc: 'host', uts: 'host', pid: 'host', net: 'none', 'shm-size': '1g', ulimit: 'memlock=-1,stack=67108864' },
      },
    }).create.HostConfig; // prettier-ignore
    expect(hc).toMatchObject({
      Privileged: true,
      AutoRemove: true,
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      IpcMode: 'host',
      UTSMode: 'host',
      PidMode: 'host',
      NetworkMode: 'none',
      ShmSize: 1024 ** 3,
      Ulimits: [
        { Name: 'memlock', Soft: -1, Hard: -1 },
        { Name: 'stack', Soft: 67108864, Hard: 67108864 },
      ],
    });
  });

  it('maps resource limits and the memory reservation', () => {
    const hc = convert({ resourceLimits: { memory: '1g', cpus: '1.5', pids: '100', STACK_SIZE: '8192' }, minPhysMemory: 1024 })
      .create.HostConfig; // prettier-ignore
    expect(hc).toMatchObject({ Memory: 1024 ** 3, NanoCpus: 1.5e9, PidsLimit: 100, MemoryReservation: 1024 * 1024 });
    expect(hc?.Ulimits).toEqual([{ Name: 'stack', Soft: 8192, Hard: 8192 }]);
  });

  it('opens stdin for inputPath and keeps the output paths', () => {
    const r = convert({ inputPath: '/in', outputPath: '/out', errorPath: '/err', joinFiles: true });
    expect(r.create).toMatchObject({ OpenStdin: true, StdinOnce: true, AttachStdin: true });
    expect(r).toMatchObject({ inputPath: '/in', outputPath: '/out', errorPath: '/err', joinFiles: true });
  });

  it.each([
    [{ candidateMachines: ['a', 'b'] }, /^InvalidArgument: candidateMachines/],
    [{ jobCategory: '' }, /^InvalidArgument: jobCategory/],
    [{ jobCategory: 'two words' }, /^InvalidArgument: jobCategory/],
    [{ workingDirectory: 'relative' }, /^InvalidArgument: workingDirectory/],
    [{ jobEnvironment: { 'A=B': 'x' } }, /^InvalidArgument: jobEnvironment/],
    [{ stageInFiles: { relative: '/c' } }, /^InvalidArgument: stageInFiles/],
    [{ stageInFiles: { '/a:b': '/c' } }, /^InvalidArgument: stageInFiles/],
    [{ outputPath: 'out.txt' }, /^InvalidArgument: outputPath/],
    [{ resourceLimits: { memory: 'lots' } }, /^InvalidArgument: resourceLimits.memory/],
    [{ resourceLimits: { cpus: '-1' } }, /^InvalidArgument: resourceLimits.cpus/],
    [{ resourceLimits: { WALLCLOCK_TIME: '10' } }, /^UnsupportedAttribute: resourceLimits.WALLCLOCK_TIME/],
    [{ resourceLimits: { memory: '1m' }, minPhysMemory: 4096 }, /^InvalidArgument: minPhysMemory/],
    [{ email: ['a@b'] }, /^UnsupportedAttribute: email/],
    [{ emailOnStarted: true }, /^UnsupportedAttribute: emailOnStarted/],
    [{ reservationID: 'r' }, /^UnsupportedAttribute: reservationID/],
    [{ maxSlots: 4 }, /^UnsupportedAttribute: maxSlots/],
    [{ priority: 5 }, /^UnsupportedAttribute: priority/],
    [{ machineOs: 'windows' }, /^UnsupportedAttribute: machineOs/],
    [{ machineArch: 'arm64' }, /^UnsupportedAttribute: machineArch/],
    [{ stageOutFiles: { '/a': '/b' } }, /^UnsupportedAttribute: stageOutFiles/],
    [{ extension: { extensionList: { nope: '1' } } }, /^UnsupportedAttribute: extension.extensionList.nope/],
    [{ extension: { extensionList: { privileged: 'yes' } } }, /^InvalidArgument: extension privileged/],
    [{ extension: { extensionList: { restart: 'sometimes' } } }, /^InvalidArgument: extension restart/],
    [{ extension: { extensionList: { pid: 'hostile' } } }, /^InvalidArgument: extension pid/],
    [{ extension: { extensionList: { ulimit: 'nofile' } } }, /^InvalidArgument: extension ulimit/],
    [{ extension: { extensionList: { ulimit: 'bogus=1' } } }, /^InvalidArgument: extension ulimit/],
    [{ extension: { extensionList: { exposedPorts: '0:80' } } }, /^InvalidArgument: extension exposedPorts/],
    [{ extension: { extensionList: { exposedPorts: '999.1.1.1:80:80' } } }, /^InvalidArgument: extension exposedPorts/],
    [{ extension: { extensionList: { exposedPorts: '80:80/sctp' } } }, /^InvalidArgument: extension exposedPorts/],
    [{ extension: { extensionList: { entrypoint: '[1,2]' } } }, /^InvalidArgument: extension entrypoint/],
    [{ extension: { extensionList: { 'shm-size': '0' } } }, /^InvalidArgument: extension shm-size/],
  ] as Array<[JobTemplateInput, RegExp]>)('refuses %j', (t, expected) => {
    expect(kindOf(() => convert(t))).toMatch(expected);
  });

  it('maps job IDs to distinct container names', () => {
    expect(containerNameFor('a/b')).not.toBe(containerNameFor('a_b'));
    expect(containerNameFor('s.job-1')).toBe('podman-tracker-s.job-1');
    expect(containerNameFor('a/b')).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/);
  });
});
