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

  // Found by the property test (test/integration/properties.test.ts): each of these reached Podman
  // and failed there, ran and failed with exit status 1, or was retried for ever.
  it.each([
    [{ remoteCommand: 'echo', args: ['a\0b'] }, /^InvalidArgument: args: may not contain a NUL/],
    [{ remoteCommand: 'tr\0ue' }, /^InvalidArgument: remoteCommand: may not contain a NUL/],
    [{ jobEnvironment: { A: 'a\0b' } }, /^InvalidArgument: jobEnvironment.A: may not contain a NUL/],
    [{ workingDirectory: '/a\0b' }, /^InvalidArgument: workingDirectory: may not contain a NUL/],
    [{ outputPath: '/tmp/a\0b' }, /^InvalidArgument: outputPath: may not contain a NUL/],
    [{ candidateMachines: ['a\0b'] }, /^InvalidArgument: candidateMachines/],
    [{ candidateMachines: ['h'.repeat(65)] }, /^InvalidArgument: candidateMachines: a host name has at most 64/],
    [{ extension: { extensionList: { user: 'u\0' } } }, /^InvalidArgument: extension user/],
    [{ extension: { extensionList: { entrypoint: '["a\\u0000"]' } } }, /^InvalidArgument: extension entrypoint/],
    [{ remoteCommand: 'echo', args: ['x'.repeat(200_000)] }, /^InvalidArgument: args: 200000 bytes; Linux takes less/],
    [{ jobEnvironment: { A: 'x'.repeat(131_070) } }, /^InvalidArgument: jobEnvironment.A: 131072 bytes/],
    [{ accountingString: 'x'.repeat(300_000) }, /^InvalidArgument: the template is \d+ bytes as JSON; at most 262144/],
    [
      { resourceLimits: { memory: '99999999999999999999t' } },
      /^InvalidArgument: resourceLimits.memory: .* is too large/,
    ],
    [{ resourceLimits: { cpus: '1e30' } }, /^InvalidArgument: resourceLimits.cpus: .* is too large/],
    [{ resourceLimits: { pids: '1e30' } }, /^InvalidArgument: resourceLimits.pids: .* is too large/],
    [
      { resourceLimits: { OPEN_FILES: '99999999999999999999' } },
      /^InvalidArgument: resourceLimits.OPEN_FILES: .* too large/,
    ],
    [{ minPhysMemory: Number.MAX_SAFE_INTEGER }, /^InvalidArgument: minPhysMemory: .* is too large/],
    [
      { extension: { extensionList: { 'shm-size': '999999999999t' } } },
      /^InvalidArgument: extension shm-size: .* too large/,
    ],
    [
      { extension: { extensionList: { restart: 'on-failure:99999999999999999999' } } },
      /^InvalidArgument: extension restart/,
    ],
    [{ extension: { extensionList: { ulimit: 'nofile=99999999999999999999' } } }, /^InvalidArgument: extension ulimit/],
  ] as Array<[JobTemplateInput, RegExp]>)('refuses %#: what Podman or the kernel cannot take', (t, expected) => {
    expect(kindOf(() => convert(t))).toMatch(expected);
  });

  it('keeps a long job name as a label only: Podman refuses container names of some KiB', () => {
    const long = convert({ jobName: 'a'.repeat(129) });
    expect(long.preferredName).toBeUndefined();
    expect(long.create.Labels?.['podman-tracker.jobName']).toBe('a'.repeat(129));
    expect(convert({ jobName: 'a'.repeat(128) }).preferredName).toBe('a'.repeat(128));
  });

  it('maps job IDs to distinct container names', () => {
    expect(containerNameFor('a/b')).not.toBe(containerNameFor('a_b'));
    expect(containerNameFor('s.job-1')).toBe('podman-tracker-s.job-1');
    expect(containerNameFor('a/b')).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/);
  });
});
