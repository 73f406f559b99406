// Podman's container inspect -> DRMAA2 JobState, sub-state and JobInfo. Pure.
import type Docker from 'dockerode';
import { LABEL } from '../common/convert.js';
import type { JobState } from '../common/states.js';
import type { JobInfo } from '../common/template.js';

export interface StateAndSubState {
  state: JobState;
  subState: string;
}

const ZERO_TIME = /^0001-01-01/;

function time(value: string | undefined): string | undefined {
  if (!value || ZERO_TIME.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function jobStateOf(c: Docker.ContainerInspectInfo): StateAndSubState {
  const s = c.State;
  if (s.Restarting || s.Status === 'restarting') return { state: 'running', subState: 'restarting' };
  if (s.Paused || s.Status === 'paused') return { state: 'suspended', subState: '' };
  // Podman restarts at once and rarely shows "restarting": a container running again under its
  // restart policy is what a user means by a restarting job.
  if (s.Running || s.Status === 'running' || s.Status === 'stopping') {
    return { state: 'running', subState: (c.RestartCount ?? 0) > 0 ? 'restarting' : '' };
  }
  // Created (or configured/initialized) but never started: the job has not run yet. The same
  // status after a start is Podman re-creating the container for its restart policy.
  if (['created', 'configured', 'initialized'].includes(s.Status)) {
    return time(s.StartedAt) ? { state: 'running', subState: 'restarting' } : { state: 'queued', subState: '' };
  }
  if (s.OOMKilled) return { state: 'failed', subState: 'oomKilled' };
  return s.ExitCode === 0 ? { state: 'done', subState: '' } : { state: 'failed', subState: '' };
}

const SIGNALS = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1',
  'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP',
  'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
]; // prettier-ignore

/**
 * The signal that ended the job: the OCI runtime reports a death by signal N as exit code 128+N
 * (and an OOM kill is SIGKILL). Not the configured stop signal, which the Go tracker reported.
 */
export function terminationSignalOf(c: Docker.ContainerInspectInfo): string | undefined {
  if (c.State.Running || !time(c.State.FinishedAt)) return undefined;
  if (c.State.OOMKilled) return 'SIGKILL';
  const n = c.State.ExitCode - 128;
  return n > 0 && n < SIGNALS.length ? SIGNALS[n] : undefined;
}

export function jobInfoOf(c: Docker.ContainerInspectInfo, host: string, now = new Date()): JobInfo {
  const { state, subState } = jobStateOf(c);
  const labels = c.Config.Labels ?? {};
  const dispatchTime = time(c.State.StartedAt);
  const finishTime = state === 'done' || state === 'failed' ? time(c.State.FinishedAt) : undefined;
  const end = finishTime ? new Date(finishTime) : now;
  const wallclockTime = dispatchTime ? Math.max(0, end.getTime() - new Date(dispatchTime).getTime()) : 0;
  const command = [...(c.Config.Entrypoint ? [c.Config.Entrypoint].flat() : []), ...(c.Config.Cmd ?? [])];
  const info: JobInfo = {
    id: labels[LABEL.job] ?? c.Name.replace(/^\//, ''),
    state,
    subState,
    allocatedMachines: [host],
    submissionMachine: labels[LABEL.submissionMachine],
    jobOwner: labels[LABEL.owner],
    slots: 1,
    wallclockTime,
    submissionTime: labels[LABEL.submissionTime] ?? time(c.Created),
    dispatchTime,
    finishTime,
    extension: {
      extensionList: {
        containerId: c.Id,
        containerName: c.Name.replace(/^\//, ''),
        image: c.Config.Image,
        command: JSON.stringify(command),
      },
    },
  };
  if (state === 'done' || state === 'failed') {
    info.exitStatus = c.State.ExitCode;
    const signal = terminationSignalOf(c);
    if (signal) info.terminationSignal = signal;
  }
  return dropUndefined(info);
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Whether Podman's restart policy will start this exited container again. */
export function willRestart(c: Docker.ContainerInspectInfo): boolean {
  const policy = c.HostConfig.RestartPolicy;
  if (c.State.Running || c.State.Paused || !policy?.Name || policy.Name === 'no') return false;
  if (policy.Name === 'on-failure') {
    return c.State.ExitCode !== 0 && (!policy.MaximumRetryCount || (c.RestartCount ?? 0) < policy.MaximumRetryCount);
  }
  return policy.Name === 'always' || policy.Name === 'unless-stopped';
}
