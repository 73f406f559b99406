// `node dist/worker/main.js [--podman URI] [--temporal-address HOST:PORT] [--namespace NS]
//  [--task-queue Q] [--host-name NAME] [--disable-image-pull]`; each flag also has its variable.
import { parseArgs } from 'node:util';
import { configFromEnv, runWorker } from './worker.js';

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
await runWorker({
  ...base,
  podmanUri: values.podman ?? base.podmanUri,
  temporalAddress: values['temporal-address'] ?? base.temporalAddress,
  namespace: values.namespace ?? base.namespace,
  taskQueue: values['task-queue'] ?? base.taskQueue,
  disableImagePull: values['disable-image-pull'] ?? base.disableImagePull,
  hostName: values['host-name'] ?? base.hostName,
});
