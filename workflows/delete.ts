// Deleting a job: its container goes, and this workflow's ID (deletedJobId) marks the job as gone
// from its session's list. The job's own history stays in Temporal.
import * as wf from '@temporalio/workflow';
import type { PodmanActivities } from '../activities/index.js';
import { hostQueue } from './definitions.js';

export function deletedJobId(jobId: string): string {
  return `deleted:${jobId}`;
}

export async function deleteJobWorkflow(input: { jobId: string; containerId?: string; host?: string }): Promise<void> {
  if (!input.containerId || !input.host) return; // ended before it had a container
  const { removeJob } = wf.proxyActivities<PodmanActivities>({
    taskQueue: hostQueue(wf.workflowInfo().taskQueue, input.host),
    startToCloseTimeout: '1 minute',
  });
  await removeJob({ jobId: input.jobId, containerId: input.containerId });
}
