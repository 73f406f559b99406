// The worker: hosts the job workflows and the Podman activities against one Podman connection,
// one Temporal namespace and one task queue.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { connect } from '../activities/podman.js';
import { defaultConnectionUri } from '../common/connection.js';

export interface WorkerConfig {
  podmanUri: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  disableImagePull: boolean;
  /** How long running activities get to finish on SIGINT/SIGTERM. */
  shutdownGraceMs: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    podmanUri: defaultConnectionUri(env),
    temporalAddress: env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.PODMAN_TRACKER_TASK_QUEUE ?? 'podman-tracker',
    disableImagePull: /^(1|true)$/i.test(env.PODMAN_TRACKER_DISABLE_IMAGE_PULL ?? ''),
    shutdownGraceMs: 10_000,
  };
}

/** The workflow bundle made by `make build`; without it (in tests) the sources are bundled at start. */
function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
  if (existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  const ts = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
  return { workflowsPath: existsSync(ts) ? ts : fileURLToPath(new URL('../workflows/index.js', import.meta.url)) };
}

export async function createWorker(config: WorkerConfig, connection?: NativeConnection): Promise<Worker> {
  const docker = connect(config.podmanUri);
  const conn = connection ?? (await NativeConnection.connect({ address: config.temporalAddress }));
  return Worker.create({
    connection: conn,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    activities: createActivities({ docker, disableImagePull: config.disableImagePull }),
    shutdownGraceTime: config.shutdownGraceMs,
    ...workflowSource(),
  });
}
