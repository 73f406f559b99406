// Job categories (image names) come from Podman, which only activities reach: a one-step workflow.
import * as wf from '@temporalio/workflow';
import type { PodmanActivities } from '../activities/index.js';
import { hostQueue } from './definitions.js';

export async function listJobCategoriesWorkflow(host?: string): Promise<string[]> {
  const { listImages } = wf.proxyActivities<PodmanActivities>({
    taskQueue: host ? hostQueue(wf.workflowInfo().taskQueue, host) : undefined,
    startToCloseTimeout: '30s',
  });
  return listImages();
}
