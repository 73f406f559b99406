// `node dist/worker/main.js [--podman URI] [--temporal-address HOST:PORT] [--namespace NS]
//  [--task-queue Q] [--host-name NAME] [--disable-image-pull] [--identity FILE]
//  [--ssh-known-hosts FILE] [--ssh-tofu] [--allow-privileged]
//  [--allow-host-namespaces ipc,uts,pid,net|all] [--allow-bind-mounts] [--mount-allow DIR]...
//  [--allow-gpus] [--image-allow PATTERN]...
//  [--max-concurrent-activities N] [--max-concurrent-workflow-tasks N]`; each flag also has its variable.
import { parseArgs } from 'node:util';
import { configFromEnv, positiveCount, runWorker, withFlags } from './worker.js';

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
    'allow-privileged': { type: 'boolean' },
    'allow-host-namespaces': { type: 'string' },
    'allow-bind-mounts': { type: 'boolean' },
    'mount-allow': { type: 'string', multiple: true },
    'allow-gpus': { type: 'boolean' },
    'image-allow': { type: 'string', multiple: true },
    'max-concurrent-activities': { type: 'string' },
    'max-concurrent-workflow-tasks': { type: 'string' },
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
    allowPrivileged: values['allow-privileged'],
    allowHostNamespaces: values['allow-host-namespaces'],
    allowBindMounts: values['allow-bind-mounts'],
    mountAllow: values['mount-allow'],
    allowGpus: values['allow-gpus'],
    imageAllow: values['image-allow'],
    maxConcurrentActivities: positiveCount(values['max-concurrent-activities'], '--max-concurrent-activities'),
    maxConcurrentWorkflowTasks: positiveCount(
      values['max-concurrent-workflow-tasks'],
      '--max-concurrent-workflow-tasks',
    ),
  }),
);
