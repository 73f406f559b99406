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

/** Starts at a time: enough to fill slots fast, few enough not to flood the frontend. */
const START_BATCH = 50;

export function createTaskActivities() {
  return {
    /**
     * Starts the tasks' job workflows on the array job's task queue. A task an earlier attempt (or
     * a replay) already started is left alone, running or ended: no task ever runs twice.
     */
    async startTasks(taskQueue: string, starts: TaskStart[]): Promise<void> {
      const { client } = Context.current();
      for (let i = 0; i < starts.length; i += START_BATCH) {
        await Promise.all(
          starts.slice(i, i + START_BATCH).map((s) =>
            client.workflow
              .start('jobWorkflow', {
                workflowId: s.workflowId,
                taskQueue,
                args: [s.input],
                workflowIdReusePolicy: 'REJECT_DUPLICATE',
              })
              .catch((err: unknown) => {
                if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
              }),
          ),
        );
      }
    },

    /**
     * Which of these task workflows have closed, and how: a task ends by signalling its array job,
     * but one terminated or timed out by hand in Temporal never does.
     */
    async closedTasks(workflowIds: string[]): Promise<ClosedTask[]> {
      const { client } = Context.current();
      const closed: ClosedTask[] = [];
      for (const workflowId of workflowIds) {
        const handle = client.workflow.getHandle<() => Promise<JobWorkflowResult>>(workflowId);
        let status: string;
        try {
          status = (await handle.describe()).status.name;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) closed.push({ workflowId, state: 'failed' });
          else throw err;
          continue;
        }
        if (status === 'RUNNING') continue;
        const state =
          status === 'COMPLETED'
            ? await handle.result().then(
                (r) => r.info.state,
                () => 'failed' as const,
              )
            : 'failed';
        closed.push({ workflowId, state });
      }
      return closed;
    },
  };
}

export type TaskActivities = ReturnType<typeof createTaskActivities>;
