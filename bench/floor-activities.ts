// Activities of `bench/floor.ts`: the Temporal calls podman-tracker's tasks make, and no Podman. A
// task lasts FLOOR_TASK_MS (1000): at maxParallel 8 the tasks then come at the rate of the
// benchmark's containers, and each Temporal call pays what it pays at that rate.
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { unitEnded } from './floor-workflows.js';

const TASK_MS = Number(process.env.FLOOR_TASK_MS ?? 1000);

export const floorActivities = {
  /** As the array job's startTasks: each task's workflow started eagerly, on this task queue. */
  async startTasks(taskQueue: string, arrayId: string, tasks: number[]): Promise<void> {
    const { client } = Context.current();
    await Promise.all(
      tasks.map((t) =>
        client.workflow.start('taskWorkflow', {
          workflowId: `${arrayId}.${t}`,
          taskQueue,
          args: [arrayId, t],
          requestEagerStart: true,
        }),
      ),
    );
  },
  /** As waitAndCollect does when a container ends: a signal to the array job. */
  async tellArray(arrayId: string, task: number): Promise<void> {
    await sleep(TASK_MS);
    await Context.current().client.workflow.getHandle(arrayId).signal(unitEnded, task);
  },
  async runTask(_task: number): Promise<void> {
    await sleep(TASK_MS);
  },
};

export type FloorActivities = typeof floorActivities;
