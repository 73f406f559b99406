import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { jobInfoOf, jobStateOf, terminationSignalOf, willRestart } from '../../activities/jobinfo.js';

type State = Partial<Docker.ContainerInspectInfo['State']>;
const ZERO = '0001-01-01T00:00:00Z';
function container(state: State, extra: Partial<Docker.ContainerInspectInfo> = {}): Docker.ContainerInspectInfo {
  return {
    Id: 'abc',
    Name: '/podman-tracker-j1',
    Created: '2026-01-01T00:00:00Z',
    RestartCount: 0,
    Config: { Image: 'img', Cmd: ['sleep', '1'], Labels: { 'podman-tracker.job': 'j1', 'podman-tracker.owner': 'me' } },
    HostConfig: { RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } },
    State: { Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO, FinishedAt: ZERO, ...state },
    ...extra,
  } as Docker.ContainerInspectInfo; // prettier-ignore
}

describe('container state -> DRMAA2 state', () => {
  it.each([
    [{ Status: 'created' }, 'queued', ''],
    [{ Status: 'created', StartedAt: '2026-01-01T00:00:01Z' }, 'running', 'restarting'],
    [{ Status: 'running', Running: true, StartedAt: '2026-01-01T00:00:01Z' }, 'running', ''],
    [{ Status: 'restarting', Restarting: true }, 'running', 'restarting'],
    [{ Status: 'paused', Paused: true, Running: true }, 'suspended', ''],
    [{ Status: 'exited', ExitCode: 0, StartedAt: '2026-01-01T00:00:01Z' }, 'done', ''],
    [{ Status: 'exited', ExitCode: 3, StartedAt: '2026-01-01T00:00:01Z' }, 'failed', ''],
    [{ Status: 'exited', ExitCode: 137, OOMKilled: true, StartedAt: '2026-01-01T00:00:01Z' }, 'failed', 'oomKilled'],
  ] as Array<[State, string, string]>)('%j -> %s %s', (state, expected, sub) => {
    expect(jobStateOf(container(state))).toEqual({ state: expected, subState: sub });
  });

  it('a container running again under its restart policy is running/restarting', () => {
    expect(jobStateOf(container({ Status: 'running', Running: true }, { RestartCount: 2 }))).toEqual({
      state: 'running',
      subState: 'restarting',
    });
  });

  it('knows when the restart policy brings a container back', () => {
    const policy = (Name: string, MaximumRetryCount = 0) => ({
      HostConfig: { RestartPolicy: { Name, MaximumRetryCount } },
    });
    expect(willRestart(container({ ExitCode: 1 }, policy('always')))).toBe(true);
    expect(willRestart(container({ ExitCode: 0 }, policy('on-failure')))).toBe(false);
    expect(willRestart(container({ ExitCode: 1 }, { ...policy('on-failure', 2), RestartCount: 2 }))).toBe(false);
    expect(willRestart(container({ ExitCode: 1 }, { ...policy('on-failure', 2), RestartCount: 1 }))).toBe(true);
    expect(willRestart(container({ ExitCode: 1 }, policy('no')))).toBe(false);
  });
});

describe('JobInfo', () => {
  it('puts the times in the right fields and never reports a negative wallclock', () => {
    const running = container({ Status: 'running', Running: true, StartedAt: '2026-01-01T00:00:05Z' });
    const early = jobInfoOf(running, 'host', new Date('2026-01-01T00:00:04Z'));
    expect(early.wallclockTime).toBe(0);
    const info = jobInfoOf(running, 'host', new Date('2026-01-01T00:00:07Z'));
    expect(info).toMatchObject({ id: 'j1', state: 'running', wallclockTime: 2000, dispatchTime: '2026-01-01T00:00:05.000Z', submissionTime: '2026-01-01T00:00:00.000Z', allocatedMachines: ['host'], jobOwner: 'me' }); // prettier-ignore
    expect(info.finishTime).toBeUndefined();
    expect(info.exitStatus).toBeUndefined();
  });

  it('reports exit status, finish time and the signal of a finished job', () => {
    const info = jobInfoOf(
      container({ ExitCode: 137, StartedAt: '2026-01-01T00:00:01Z', FinishedAt: '2026-01-01T00:00:03.5Z' }),
      'h',
    );
    expect(info).toMatchObject({ state: 'failed', exitStatus: 137, terminationSignal: 'SIGKILL', wallclockTime: 2500, finishTime: '2026-01-01T00:00:03.500Z' }); // prettier-ignore
    expect(info.extension?.extensionList).toEqual({
      containerId: 'abc',
      containerName: 'podman-tracker-j1',
      image: 'img',
      command: '["sleep","1"]',
    });
  });

  it('names no signal for a plain exit code', () => {
    expect(terminationSignalOf(container({ ExitCode: 1, FinishedAt: '2026-01-01T00:00:03Z' }))).toBeUndefined();
    expect(terminationSignalOf(container({ ExitCode: 143, FinishedAt: '2026-01-01T00:00:03Z' }))).toBe('SIGTERM');
  });
});
