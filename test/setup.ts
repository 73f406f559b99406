// Every test file's Temporal runtime (and the core SDK beneath it) logs at WARN, so a failure shows
// on the first screen; PODMAN_TRACKER_TEST_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR) shows more.
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { testLogger, testLogLevel } from './helpers.js';

const level = testLogLevel();
Runtime.install({
  logger: testLogger(),
  telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: level }) } },
});
