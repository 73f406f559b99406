// What the integration tests need from the stack that `scripts/stack up` started. A missing
// variable fails the test run: the suite never passes by skipping what it could not reach.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type Docker from 'dockerode';
import { connect } from '../activities/podman.js';
import { createActivities, type PodmanActivities, type PodmanActivityOptions } from '../activities/index.js';
import { LABEL } from '../common/convert.js';

const run = promisify(execFile);

/** The tests' log level: WARN unless PODMAN_TRACKER_TEST_LOG_LEVEL asks for more (or less). */
export function testLogLevel(): LogLevel {
  return (process.env.PODMAN_TRACKER_TEST_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
}

/**
 * A logger at the tests' level. It writes through console.error, which vitest holds back for a
 * test that passes (silent: 'passed-only') and shows under one that fails.
 */
export function testLogger(): DefaultLogger {
  return new DefaultLogger(testLogLevel(), ({ level, timestampNanos, message, meta }) => {
    const at = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
    console.error(`${at} [${level}] ${message}`, ...(meta === undefined ? [] : [meta]));
  });
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the tests through \`make test\` (or eval "$(scripts/stack env)")`);
  return value;
}

export const stack = {
  get containerHost() {
    return requireEnv('CONTAINER_HOST');
  },
  get testImage() {
    return requireEnv('PODMAN_TRACKER_TEST_IMAGE');
  },
  get pullImage() {
    return requireEnv('PODMAN_TRACKER_PULL_IMAGE');
  },
};

export function podmanClient(): Docker {
  return connect(stack.containerHost);
}

/** Podman's own CLI, as a remote client of the stack's service: the independent view of what exists. */
export async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', ['--remote', '--url', stack.containerHost, ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/**
 * `sh -c` script of a job that runs until the test ends it with endByTerm, so a later step finds it
 * still running however slow the machine: `first` runs first; on TERM it runs `onTerm` and exits 0.
 */
export function untilTerm({ first, onTerm }: { first?: string; onTerm?: string } = {}): string {
  return `trap "${onTerm ? `${onTerm}; ` : ''}exit 0" TERM; ${first ? `${first}; ` : ''}sleep 600 & wait`;
}

/** Ends a job's container that runs an untilTerm script: it exits 0. */
export async function endByTerm(containerId: string): Promise<void> {
  await podman('kill', '-s', 'TERM', containerId);
}

export async function podmanInspect(nameOrId: string): Promise<PodmanInspect> {
  const [c] = JSON.parse(await podman('container', 'inspect', nameOrId)) as PodmanInspect[];
  if (!c) throw new Error(`podman inspect ${nameOrId} returned nothing`);
  return c;
}

/** The parts of `podman container inspect` the tests read. */
export interface PodmanInspect {
  Id: string;
  Name: string;
  State: { Status: string; ExitCode: number; Running: boolean; Paused: boolean };
  RestartCount?: number;
  Config: {
    Hostname: string;
    User: string;
    Env: string[];
    Cmd: string[] | null;
    Entrypoint: string | string[] | null;
    WorkingDir: string;
    Labels: Record<string, string>;
    Tty: boolean;
    OpenStdin: boolean;
    StopSignal: string;
  };
  HostConfig: Record<string, unknown> & {
    Binds: string[] | null;
    PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> | null;
    Privileged: boolean;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    IpcMode: string;
    UTSMode: string;
    PidMode: string;
    NetworkMode: string;
    AutoRemove: boolean;
    ShmSize: number;
    Ulimits: Array<{ Name: string; Soft: number; Hard: number }> | null;
    Memory: number;
    MemoryReservation: number;
    NanoCpus: number;
    PidsLimit: number;
  };
}

/** Containers of a session, as Podman lists them (all states). */
export async function sessionContainers(session: string): Promise<string[]> {
  const out = await podman('ps', '-a', '--filter', `label=${LABEL.session}=${session}`, '--format', '{{.ID}}');
  return out.split('\n').filter(Boolean);
}

/** How many containers each job of a session has (a job run twice would have two). */
export async function containersPerJob(session: string): Promise<Map<string, number>> {
  const out = await podman('ps', '-a', '--filter', `label=${LABEL.session}=${session}`, '--format', `{{index .Labels "${LABEL.job}"}}`); // prettier-ignore
  const counts = new Map<string, number>();
  for (const job of out.split('\n').filter(Boolean)) counts.set(job, (counts.get(job) ?? 0) + 1);
  return counts;
}

export async function removeSession(session: string): Promise<void> {
  const ids = await sessionContainers(session);
  if (ids.length) await podman('rm', '-f', '-v', ...ids);
}

export function uniqueSession(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Runs activities inside a real activity context (heartbeats, cancellation), as a worker would. */
export class ActivityHarness {
  readonly acts: PodmanActivities;
  /** Powers are none unless the options grant them, as on a worker. */
  constructor(options: Omit<PodmanActivityOptions, 'docker'> = {}) {
    this.acts = createActivities({ docker: podmanClient(), ...options });
  }
  run<K extends keyof PodmanActivities>(
    name: K,
    ...args: Parameters<PodmanActivities[K]>
  ): Promise<Awaited<ReturnType<PodmanActivities[K]>>> {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000 }, { logger: testLogger() });
    const fn = this.acts[name] as (
      ...a: Parameters<PodmanActivities[K]>
    ) => Promise<Awaited<ReturnType<PodmanActivities[K]>>>;
    return env.run(fn, ...args);
  }
}
