// The worker's entry point (the container image's): `node dist/worker/main.js [flags]`, the same
// worker as `podman-tracker worker`. Each flag is over its variable; `--help` lists them.
import type { LogLevel } from '@temporalio/worker';
import { Command, CommanderError } from 'commander';
import { DrmaaError } from '../common/errors.js';
import { addTemporalOptions } from '../cli/temporal-options.js';
import { addWorkerOptions } from './options.js';
import { logLevelFromEnv, runWorker, workerConfig, type WorkerConfig, type WorkerFlags } from './worker.js';

const command = addWorkerOptions(
  addTemporalOptions(
    new Command('node dist/worker/main.js').description(
      'a podman-tracker worker: hosts the workflows and the Podman activities',
    ),
  ).option('--task-queue <queue>', 'task queue (PODMAN_TRACKER_TASK_QUEUE; default: podman-tracker)'),
).exitOverride();
/** A DRMAA2 error is the operator's to fix: said in one line, not as a stack trace. */
function exitWith(err: unknown, status: number): never {
  const e = DrmaaError.find(err);
  if (!e) throw err;
  process.stderr.write(`podman-tracker worker: ${e.kind}: ${e.message}\n`);
  process.exit(status);
}

let config: WorkerConfig;
let logLevel: LogLevel;
try {
  command.parse();
  config = workerConfig(command.opts<WorkerFlags>());
  logLevel = logLevelFromEnv();
} catch (err) {
  // commander has said what is wrong with the command line (or shown --help) already.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  exitWith(err, 2); // a bad flag or variable
}
// Temporal or Podman out of reach, refused certificates: status 1, as the command's errors.
await runWorker(config, logLevel).catch((err: unknown) => exitWith(err, 1));
