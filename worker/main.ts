// The worker's entry point (the container image's): `node dist/worker/main.js [flags]`, the same
// worker as `podman-tracker worker`. Each flag is over its variable; `--help` lists them.
import type { LogLevel } from '@temporalio/worker';
import { Command, CommanderError } from 'commander';
import { DrmaaError } from '../common/errors.js';
import { addWorkerOptions } from './options.js';
import { configFromEnv, logLevelFromEnv, runWorker, withFlags, type WorkerConfig, type WorkerFlags } from './worker.js';

const command = addWorkerOptions(
  new Command('node dist/worker/main.js')
    .description('a podman-tracker worker: hosts the workflows and the Podman activities')
    .option('--temporal-address <host:port>', 'Temporal frontend (TEMPORAL_ADDRESS; default: localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (TEMPORAL_NAMESPACE; default: default)')
    .option('--task-queue <queue>', 'task queue (PODMAN_TRACKER_TASK_QUEUE; default: podman-tracker)'),
).exitOverride();
let config: WorkerConfig;
let logLevel: LogLevel;
try {
  command.parse();
  config = withFlags(configFromEnv(), command.opts<WorkerFlags>());
  logLevel = logLevelFromEnv();
} catch (err) {
  // commander has said what is wrong with the command line (or shown --help) already.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  // A bad flag or variable is the operator's to fix: said in one line, not as a stack trace.
  const e = DrmaaError.find(err);
  if (!e) throw err;
  process.stderr.write(`podman-tracker worker: ${e.kind}: ${e.message}\n`);
  process.exit(2);
}
await runWorker(config, logLevel);
