// The two shapes of an array job that `bench/floor.ts` compares, with tasks that do nothing.
import * as wf from '@temporalio/workflow';
import type { FloorActivities } from './floor-activities.js';

export const unitEnded = wf.defineSignal<[number]>('unitEnded');

const local = wf.proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '1 minute' });
const remote = wf.proxyActivities<FloorActivities>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '10s' });

/** A task as podman-tracker runs it: a workflow whose one local activity tells the array job it ended. */
export async function taskWorkflow(arrayId: string, task: number): Promise<void> {
  await local.tellArray(arrayId, task);
}

/** podman-tracker's array job: tasks' workflows started by a local activity, their ends heard by signal. */
export async function workflowPerTask(tasks: number, maxParallel: number): Promise<number> {
  let next = 0;
  let ended = 0;
  let running = 0;
  wf.setHandler(unitEnded, () => {
    ended++;
    running--;
  });
  while (ended < tasks) {
    await wf.condition(() => ended === tasks || (running < maxParallel && next < tasks));
    const batch: number[] = [];
    while (running + batch.length < maxParallel && next < tasks) batch.push(next++);
    running += batch.length;
    if (batch.length) await local.startTasks(wf.workflowInfo().taskQueue, wf.workflowInfo().workflowId, batch);
  }
  return ended;
}

/** The alternative: every task one activity of the array job, no workflow of its own. */
export async function activityPerTask(tasks: number, maxParallel: number): Promise<number> {
  let next = 0;
  let ended = 0;
  const lane = async () => {
    while (next < tasks) {
      await remote.runTask(next++);
      ended++;
    }
  };
  await Promise.all(Array.from({ length: maxParallel }, lane));
  return ended;
}
