import { defineConfig } from 'vitest/config';

/**
 * Files that stop or restart the stack's own Podman or Temporal, or kill workers and count the time
 * it takes to notice: they run one at a time, after the rest, with nothing beside them.
 */
const EXCLUSIVE = [
  'test/integration/crash-fuzz.test.ts',
  'test/integration/crash.test.ts',
  'test/integration/faults.test.ts',
  'test/integration/run-ahead.test.ts',
];

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    // What a passing test logs is not shown; a failing one's is, under its failure. A chosen
    // PODMAN_TRACKER_TEST_LOG_LEVEL shows everything.
    silent: process.env.PODMAN_TRACKER_TEST_LOG_LEVEL ? false : 'passed-only',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        // Most files wait on containers and timers, not on the CPU: three at a time on two cores.
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: EXCLUSIVE,
          maxWorkers: Number(process.env.PODMAN_TRACKER_TEST_WORKERS ?? 3),
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'exclusive', include: EXCLUSIVE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
