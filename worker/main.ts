// `node dist/worker/main.js [--podman URI] [--temporal-address HOST:PORT] [--namespace NS]
//  [--task-queue Q] [--host-name NAME] [--disable-image-pull] [--identity FILE]
//  [--ssh-known-hosts FILE] [--ssh-tofu]`; each flag also has its variable.
import { parseArgs } from 'node:util';
import { configFromEnv, runWorker, withFlags } from './worker.js';

const { values } = parseArgs({
  options: {
    podman: { type: 'string' },
    'temporal-address': { type: 'string' },
    namespace: { type: 'string' },
    'task-queue': { type: 'string' },
    'disable-image-pull': { type: 'boolean' },
    'host-name': { type: 'string' },
    identity: { type: 'string' },
    'ssh-known-hosts': { type: 'string' },
    'ssh-tofu': { type: 'boolean' },
  },
});
await runWorker(
  withFlags(configFromEnv(), {
    podman: values.podman,
    temporalAddress: values['temporal-address'],
    namespace: values.namespace,
    taskQueue: values['task-queue'],
    hostName: values['host-name'],
    disableImagePull: values['disable-image-pull'],
    identity: values.identity,
    sshKnownHosts: values['ssh-known-hosts'],
    sshTofu: values['ssh-tofu'],
  }),
);
