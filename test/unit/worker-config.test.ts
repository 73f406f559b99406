import { describe, expect, it } from 'vitest';
import { configFromEnv, logLevelFromEnv, positiveCount, withFlags, type WorkerConfig } from '../../worker/worker.js';

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
});
