// `rm` (the template's extension, `podman run --rm`): a job's container is removed once the job's
// workflow has closed, that is, once Temporal keeps its result. Removed any earlier, inside the
// activity that collected it, a collection whose report was lost (a local activity whose workflow task
// timed out on a worker too busy to answer in time) runs again, finds no container, and runs the job
// a second time in a new one.
import type { Client } from '@temporalio/client';
import type Docker from 'dockerode';
import { LABEL } from '../common/convert.js';
import type { JobWorkflowResult } from '../workflows/job.js';
import { eventHubOf } from './events.js';
import { isNotFound } from './podman.js';

/** A job's annotation when its output files could not be written: the container stays, `rm` or not. */
export const KEPT_FOR_OUTPUT = 'the container and its output are kept';

export interface Removals {
  stop(): void;
}

/** How often ended containers are looked at again while their workflows run (a restart policy, a collection). */
const RECHECK_MS = 1000;

/**
 * Removes the `rm` containers of this Podman whose jobs have closed: those it sees end (on the
 * worker's shared event stream) and those that ended while no worker watched. Nothing polls Podman:
 * it is listed once, then told by its events; only Temporal is asked, about the containers that wait.
 */
export function startRemovals(docker: Docker, client: Client): Removals {
  const waiting = new Map<string, string>(); // container ID -> job ID
  let stopped = false;
  let stopWatching: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  const add = (containerId: string, jobId: string | undefined) => {
    if (!jobId || stopped) return;
    waiting.set(containerId, jobId);
    timer ??= setTimeout(sweep, RECHECK_MS);
  };

  /** Whether Temporal keeps the job's result, and the job did not ask to keep its container. */
  const removable = async (jobId: string): Promise<boolean> => {
    const handle = client.workflow.getHandle(jobId);
    try {
      if ((await handle.describe()).status.name === 'RUNNING') return false;
    } catch {
      // Not this namespace's job (workers of another share this Podman), or past its retention: kept.
      return false;
    }
    // Output files that could not be written keep the container (and its output) for the user.
    const result = (await handle.result().catch(() => undefined)) as JobWorkflowResult | undefined;
    return !result?.info.annotation?.includes(KEPT_FOR_OUTPUT);
  };

  const sweep = async () => {
    timer = undefined;
    for (const [containerId, jobId] of [...waiting]) {
      if (stopped) return;
      try {
        if (!(await removable(jobId))) continue;
        await docker
          .getContainer(containerId)
          .remove({ v: true })
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
        waiting.delete(containerId);
      } catch {
        // Temporal or Podman out of reach, the container running again: looked at again later.
      }
    }
    if (waiting.size && !stopped) timer = setTimeout(sweep, RECHECK_MS);
  };

  const watch = () => {
    if (stopped) return;
    eventHubOf(docker)
      .watchAll({
        onEvent: (e) => {
          const labels = e.Actor?.Attributes ?? {};
          if ((e.Action === 'die' || e.Action === 'died') && labels[LABEL.rm] === 'true') {
            add(e.id ?? e.Actor!.ID!, labels[LABEL.job]);
          }
        },
        onBroken: () => setTimeout(watch, RECHECK_MS), // Podman's service went away: watch again
      })
      .then(
        (stop) => (stopWatching = stop),
        () => setTimeout(watch, RECHECK_MS),
      );
  };

  watch();
  // Those that ended while no worker watched.
  docker.listContainers({ all: true, filters: { label: [`${LABEL.rm}=true`], status: ['exited'] } }).then(
    (list) => list.forEach((c) => add(c.Id, c.Labels[LABEL.job])),
    () => undefined, // Podman out of reach: its events bring them later
  );

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      stopWatching?.();
    },
  };
}
