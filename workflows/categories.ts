// Podman facts that only activities reach, for clients: one-step workflows.
import * as wf from '@temporalio/workflow';
import type { JobOutput, PodmanActivities } from '../activities/index.js';
import { hostQueue } from './definitions.js';

function on(host?: string) {
  return wf.proxyActivities<PodmanActivities>({
    taskQueue: host ? hostQueue(wf.workflowInfo().taskQueue, host) : undefined,
    startToCloseTimeout: '30s',
  });
}

/** Job categories: the image names of a Podman host (any worker's when none is named). */
export async function listJobCategoriesWorkflow(host?: string): Promise<string[]> {
  return on(host).listImages();
}

/** A job's output so far, from the host that holds its container. */
export async function jobLogsWorkflow(input: { jobId: string; containerId: string; host: string }): Promise<JobOutput> {
  return on(input.host).jobLogs({ jobId: input.jobId, containerId: input.containerId });
}
