// Every test file's Temporal runtime logs at WARN, so a failure shows on the first screen; set
// PODMAN_TRACKER_TEST_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR) to see more.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

const level = (process.env.PODMAN_TRACKER_TEST_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
Runtime.install({ logger: new DefaultLogger(level) });
