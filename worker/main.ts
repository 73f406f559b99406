// `node dist/worker/main.js [--podman URI] [--temporal-address HOST:PORT] [--namespace NS]
//  [--task-queue Q] [--disable-image-pull]`; each flag also has its environment variable.
import { parseArgs } from 'node:util';
import { configFromEnv, createWorker } from './worker.js';

const { values } = parseArgs({
  options: {
    podman: { type: 'string' },
    'temporal-address': { type: 'string' },
    namespace: { type: 'string' },
    'task-queue': { type: 'string' },
    'disable-image-pull': { type: 'boolean' },
    'host-name': { type: 'string' },
  },
});
const base = configFromEnv();
const config = {
  ...base,
  podmanUri: values.podman ?? base.podmanUri,
  temporalAddress: values['temporal-address'] ?? base.temporalAddress,
  namespace: values.namespace ?? base.namespace,
  taskQueue: values['task-queue'] ?? base.taskQueue,
  disableImagePull: values['disable-image-pull'] ?? base.disableImagePull,
  hostName: values['host-name'] ?? base.hostName,
};
const worker = await createWorker(config);
console.log(
  `podman-tracker worker: Podman ${config.podmanUri} (host ${worker.hostName}), Temporal ${config.temporalAddress}, namespace ${config.namespace}, task queue ${config.taskQueue}`,
);
// Worker.run() shuts down gracefully on SIGINT and SIGTERM by itself.
await worker.run();
