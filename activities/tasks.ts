// The array job's Temporal-side activities: starting its tasks' job workflows and asking after
// tasks that went quiet. Run as local activities of the array job: no Podman here.
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { JobState } from '../common/states.js';
import type { JobWorkflowInput, JobWorkflowResult } from '../workflows/job.js';

export interface TaskStart {
  workflowId: string;
  input: JobWorkflowInput;
}

export interface ClosedTask {
  workflowId: string;
  state: JobState;
}

/** Calls to Temporal at a time: enough to fill slots fast, few enough not to flood the frontend. */
const BATCH = 50;

async function inBatches<T, R>(items: T[], call: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(...(await Promise.all(items.slice(i, i + BATCH).map(call))));
  return out;
}

export function createTaskActivities() {
  return {
    /**
     * Starts the tasks' job workflows on the array job's task queue. A task an earlier attempt (or
     * a replay) already started is left alone, running or ended: no task ever runs twice. Eager
     * start: the server hands each new workflow's first task back to this worker in the reply,
     * which saves the matching service's round trip (a server that does not do it starts it as usual).
     */
    async startTasks(taskQueue: string, starts: TaskStart[]): Promise<void> {
      const { client } = Context.current();
      await inBatches(starts, (s) =>
        client.workflow
          .start('jobWorkflow', {
            workflowId: s.workflowId,
            taskQueue,
            args: [s.input],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            requestEagerStart: true,
          })
          .catch((err: unknown) => {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          }),
      );
    },

    /**
     * Which of these task workflows have closed, and how: a task ends by signalling its array job,
     * but one terminated or timed out by hand in Temporal never does.
     */
    async closedTasks(workflowIds: string[]): Promise<ClosedTask[]> {
      const { client } = Context.current();
      const looks = await inBatches(workflowIds, async (workflowId): Promise<ClosedTask | undefined> => {
        const handle = client.workflow.getHandle<() => Promise<JobWorkflowResult>>(workflowId);
        let status: string;
        try {
          status = (await handle.describe()).status.name;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return { workflowId, state: 'failed' };
          throw err;
        }
        if (status === 'RUNNING') return undefined;
        const state =
          status === 'COMPLETED'
            ? await handle.result().then(
                (r) => r.info.state,
                () => 'failed' as const,
              )
            : 'failed';
        return { workflowId, state };
      });
      return looks.filter((c) => c !== undefined);
    },
  };
}

export type TaskActivities = ReturnType<typeof createTaskActivities>;
