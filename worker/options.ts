// The worker's own flags (commander), for `node dist/worker/main.js` and `podman-tracker worker`
// alike. Each flag's name is its WorkerFlags key (--allow-privileged: allowPrivileged), and each
// power's flag and variable are spelled once, in POWER_OPTIONS.
import type { Command } from 'commander';
import { POWER_OPTIONS as P } from '../common/powers.js';
import { positiveCount } from '../common/units.js';

const collect = (value: string, previous?: string[]) => [...(previous ?? []), value];

/** Adds the worker's flags (not Temporal's address, namespace or task queue) to `cmd`. */
export function addWorkerOptions(cmd: Command): Command {
  return (
    cmd
      .option(
        '--podman <uri>',
        'Podman connection URI (default: CONTAINER_HOST, then the user, then the rootful socket)',
      )
      .option(
        '--host-name <name>',
        'this Podman host, for queueName (default: PODMAN_TRACKER_HOST_NAME or what Podman reports)',
      )
      .option('--disable-image-pull', 'never pull: a missing image is an error (PODMAN_TRACKER_DISABLE_IMAGE_PULL=1)')
      .option('--identity <file>', 'private key for ssh:// Podman URIs (default: CONTAINER_SSHKEY)')
      .option(
        '--ssh-known-hosts <file>',
        'host keys for ssh:// Podman URIs (default: PODMAN_TRACKER_SSH_KNOWN_HOSTS or ~/.ssh/known_hosts)',
      )
      .option('--ssh-tofu', 'trust an ssh host on first use and record its key (PODMAN_TRACKER_SSH_TOFU=1)')
      // Powers: each refused unless granted here or by its variable (README, Security).
      .option(P.privileged.flag, `run privileged containers (${P.privileged.env}=1)`)
      .option(
        `${P.hostNamespaces.flag} <list>`,
        `share these namespaces with the host: ipc,uts,pid,net or all (${P.hostNamespaces.env})`,
      )
      .option(P.bindMounts.flag, `bind mount host paths (stageInFiles) (${P.bindMounts.env}=1)`)
      .option(
        `${P.mountAllow.flag} <dir>`,
        `bind mounts only from this directory, symlinks resolved; repeatable (${P.mountAllow.env}=DIR,DIR)`,
        collect,
      )
      .option(P.gpus.flag, `GPU device requests (${P.gpus.env}=1)`)
      .option(
        `${P.imageAllow.flag} <pattern>`,
        `run only images matching a pattern (\`*\`: anything), e.g. localhost/podman-tracker/*; repeatable (${P.imageAllow.env})`,
        collect,
      )
      // Load limits: how much this worker takes on at once.
      .option(
        '--max-concurrent-activities <n>',
        "activities at once per task queue (PODMAN_TRACKER_MAX_CONCURRENT_ACTIVITIES; default: Temporal's)",
        (v) => positiveCount(v, '--max-concurrent-activities'),
      )
      .option(
        '--max-concurrent-workflow-tasks <n>',
        "workflow tasks at once (PODMAN_TRACKER_MAX_CONCURRENT_WORKFLOW_TASKS; default: Temporal's)",
        (v) => positiveCount(v, '--max-concurrent-workflow-tasks'),
      )
  );
}
