import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { positiveCount } from '../../common/units.js';
import { addWorkerOptions } from '../../worker/options.js';
import { configFromEnv, logLevelFromEnv, withFlags, type WorkerConfig, type WorkerFlags } from '../../worker/worker.js';

describe('worker load limits', () => {
  it('are Temporal defaults unless a variable or flag sets them; a flag wins', () => {
    expect(configFromEnv({})).toMatchObject({
      maxConcurrentActivities: undefined,
      maxConcurrentWorkflowTasks: undefined,
    });
    const env = configFromEnv({
      PODMAN_TRACKER_MAX_CONCURRENT_ACTIVITIES: '8',
      PODMAN_TRACKER_MAX_CONCURRENT_WORKFLOW_TASKS: '4',
    });
    expect(env).toMatchObject({ maxConcurrentActivities: 8, maxConcurrentWorkflowTasks: 4 });
    expect(withFlags(env, { maxConcurrentActivities: 2 })).toMatchObject({
      maxConcurrentActivities: 2,
      maxConcurrentWorkflowTasks: 4,
    });
  });

  it.each(['0', '-1', '1.5', 'many', '1e400'])('refuses %j, naming the variable', (value) => {
    expect(() => configFromEnv({ PODMAN_TRACKER_MAX_CONCURRENT_ACTIVITIES: value })).toThrow(
      expect.objectContaining({
        kind: 'InvalidArgument',
        message: expect.stringContaining('PODMAN_TRACKER_MAX_CONCURRENT_ACTIVITIES'),
      }),
    );
    expect(() => positiveCount(value, '--max-concurrent-activities')).toThrow(/--max-concurrent-activities/);
  });
});

describe('worker log level', () => {
  it('is INFO unless PODMAN_TRACKER_LOG_LEVEL says otherwise; a bad one is InvalidArgument', () => {
    expect(logLevelFromEnv({})).toBe('INFO');
    expect(logLevelFromEnv({ PODMAN_TRACKER_LOG_LEVEL: 'warn' })).toBe('WARN');
    expect(() => logLevelFromEnv({ PODMAN_TRACKER_LOG_LEVEL: 'loud' })).toThrow(
      expect.objectContaining({ kind: 'InvalidArgument', message: expect.stringContaining('TRACE, DEBUG, INFO') }),
    );
    // The value as the operator wrote it, so it can be found in their configuration.
    expect(() => logLevelFromEnv({ PODMAN_TRACKER_LOG_LEVEL: 'loud' })).toThrow(/not "loud"/);
  });
});

const run = promisify(execFile);

describe('worker flags', () => {
  const parse = (...argv: string[]) =>
    addWorkerOptions(new Command('worker').exitOverride()).parse(argv, { from: 'user' }).opts<WorkerFlags>();

  it('are named as WorkerFlags names them, so every one reaches the configuration', () => {
    const flags = parse(
      '--podman', 'tcp://podman:8080', '--host-name', 'h1', '--disable-image-pull', '--identity', '/k',
      '--ssh-known-hosts', '/kh', '--ssh-tofu', '--allow-privileged', '--allow-host-namespaces', 'ipc,net',
      '--mount-allow', '/data', '--mount-allow', '/scratch', '--allow-gpus', '--image-allow', 'localhost/*',
      '--max-concurrent-activities', '3', '--max-concurrent-workflow-tasks', '2',
    ); // prettier-ignore
    const c = withFlags(configFromEnv({}), flags);
    expect(c).toMatchObject({
      podmanUri: 'tcp://podman:8080',
      hostName: 'h1',
      disableImagePull: true,
      ssh: { identityFile: '/k', knownHostsFile: '/kh', trustOnFirstUse: true },
      powers: {
        privileged: true,
        hostNamespaces: ['ipc', 'net'],
        bindMounts: true,
        mountAllow: ['/data', '/scratch'],
        gpus: true,
        imageAllow: ['localhost/*'],
      },
      maxConcurrentActivities: 3,
      maxConcurrentWorkflowTasks: 2,
    });
  });

  it('grant nothing when not given, and refuse a count that is not positive', () => {
    expect(withFlags(configFromEnv({}), parse()).powers).toEqual(configFromEnv({}).powers);
    expect(() => parse('--max-concurrent-activities', '0')).toThrow(
      expect.objectContaining({
        kind: 'InvalidArgument',
        message: expect.stringContaining('--max-concurrent-activities'),
      }),
    );
    expect(() => parse('--allow-everything')).toThrow(/unknown option '--allow-everything'/);
  });
});

describe('yes/no variables', () => {
  it.each([
    ['PODMAN_TRACKER_SSH_TOFU', (c: WorkerConfig) => c.ssh?.trustOnFirstUse],
    ['PODMAN_TRACKER_DISABLE_IMAGE_PULL', (c: WorkerConfig) => c.disableImagePull],
  ])('%s takes 1/true and 0/false, and refuses anything else', (name, read) => {
    expect(read(configFromEnv({ [name]: 'TRUE' }))).toBe(true);
    expect(read(configFromEnv({ [name]: '1' }))).toBe(true);
    expect(read(configFromEnv({ [name]: '0' }))).toBe(false);
    expect(read(configFromEnv({}))).toBe(false);
    // Before, "yes" was read as no: a setting the operator meant to turn on stayed off, silently.
    expect(() => configFromEnv({ [name]: 'yes' })).toThrow(
      expect.objectContaining({ kind: 'InvalidArgument', message: expect.stringContaining(name) }),
    );
  });

  it('refuses a shutdown grace that is not a number of milliseconds', () => {
    expect(configFromEnv({}).shutdownGraceMs).toBe(10_000);
    expect(configFromEnv({ PODMAN_TRACKER_SHUTDOWN_GRACE_MS: '2500' }).shutdownGraceMs).toBe(2500);
    expect(() => configFromEnv({ PODMAN_TRACKER_SHUTDOWN_GRACE_MS: '10s' })).toThrow(
      /PODMAN_TRACKER_SHUTDOWN_GRACE_MS/,
    );
  });

  it('stop the worker with one line and exit status 2 when wrong, before it connects to anything', async () => {
    const main = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));
    // A worker that wrongly starts would wait for Temporal: the timeout ends it, and the test fails.
    const worker = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', main, ...args], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: '127.0.0.1:1' },
        timeout: 30_000,
      }).catch((e: { code: number | null; stderr: string }) => e);
    expect(await worker('--mount-allow', 'relative/dir')).toMatchObject({
      code: 2,
      stderr:
        'podman-tracker worker: InvalidArgument: --mount-allow (PODMAN_TRACKER_MOUNT_ALLOW): "relative/dir" is not an absolute path\n',
    });
    expect(await worker('--max-concurrent-activities', '0')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^podman-tracker worker: InvalidArgument: --max-concurrent-activities: "0"/),
    });
    expect(await worker('--allow-everything')).toMatchObject({
      code: 2,
      stderr: "error: unknown option '--allow-everything'\n",
    });
  });
});
