import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // What a passing test logs is not shown; a failing one's is, under its failure. A chosen
    // PODMAN_TRACKER_TEST_LOG_LEVEL shows everything.
    silent: process.env.PODMAN_TRACKER_TEST_LOG_LEVEL ? false : 'passed-only',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores and one Podman service: integration files run one at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
