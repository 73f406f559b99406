import { describe, expect, it } from 'vitest';
import { configFromEnv, logLevelFromEnv, positiveCount, withFlags } from '../../worker/worker.js';

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
