// Workarounds in the workflow runtime for a defect of the Temporal SDK 1.24 (sdk-core): a query
// that reaches a worker through the task queue ("legacy query"), while events wait behind a
// workflow task that no worker has started, runs the workflow on those events as live work, local
// activities included, outside any workflow task. That happens when the worker that held the
// workflow dies: a query sent just then waits on the dead worker's sticky queue, and reaches another
// worker once signals or activity results have come in. Their commands then go out with the next
// workflow task, after an update in it was accepted in an activation of its own, while a replay
// delivers the events and the update in one activation. The history no longer replays
// (TMPRL1100, "Update machine does not handle this event"). README, "Determinism and the SDK".
//
// Registered on every worker and replayer as a workflow interceptor module (WORKFLOW_INTERCEPTORS).
import * as wf from '@temporalio/workflow';
import type { ActivateInput, Next, WorkflowInternalsInterceptor } from '@temporalio/workflow';

type Job = NonNullable<ActivateInput['activation']['jobs']>[number];

/**
 * Jobs that come from new history events: anything but local activity results, queries and
 * updates. An update alone comes in a speculative workflow task, which carries the history size of
 * the task before it (seen in the crash fuzz: a real task refused).
 */
function fromHistory(job: Job): boolean {
  if (job.queryWorkflow || job.removeFromCache || job.doUpdate) return false;
  return !job.resolveActivity?.isLocal;
}

/** The words a refused query's failure carries, by which clients know to ask again. */
export const RUN_AHEAD_REFUSED = 'refusing to run the workflow on events no workflow task has delivered yet';

/** Thrown where the SDK runs a workflow ahead of its history; the query fails and is asked again. */
export class RunAheadRefused extends Error {
  override readonly name = 'RunAheadRefused';
}

let signalReactionsFirst = false;

/**
 * Called by a signal handler that learns, from the signal, that this activation's events were run
 * ahead once already (see arrayJobWorkflow): the rest of the activation then waits until the
 * signals' reactions have run, which is the order the history was written in.
 */
export function runSignalReactionsFirst(): void {
  signalReactionsFirst = true;
}

class RunAheadGuard implements WorkflowInternalsInterceptor {
  /** The history size the last activation with new events saw: each workflow task's is larger. */
  private lastSize?: string;
  private activating = false;

  activate(input: ActivateInput, next: Next<WorkflowInternalsInterceptor, 'activate'>): void {
    const { activation } = input;
    const jobs = activation.jobs ?? [];
    if (jobs.some(fromHistory)) {
      // The server tells each workflow task the history's size, and it grows from one task to the
      // next: new events at the size of the last ones were not delivered by a workflow task, but
      // are the SDK running the workflow ahead for a query. Failing the activation evicts the
      // workflow: the query fails (callers retry it) and nothing it did is kept.
      const size = String(activation.historySizeBytes ?? 0);
      if (!activation.isReplaying && size !== '0' && size === this.lastSize) {
        const kinds = jobs.filter(fromHistory).map((j) => Object.keys(j).join('/'));
        throw new RunAheadRefused(
          `${RUN_AHEAD_REFUSED} (Temporal SDK 1.24 legacy-query defect; history size ${size} as before, ` +
            `${kinds.join(', ')}); ask again once the workflow task has run`,
        );
      }
      this.lastSize = size;
    }
    const signals = jobs.filter((j) => j.signalWorkflow);
    if (!signals.length || signals.length === jobs.length || jobs.some((j) => j.initializeWorkflow)) {
      next(input);
      return;
    }
    this.activating = true;
    try {
      signalReactionsFirst = false;
      next({ ...input, activation: { ...activation, jobs: signals } });
      const rest = { ...input, activation: { ...activation, jobs: jobs.filter((j) => !j.signalWorkflow) } };
      if (!signalReactionsFirst) {
        next(rest); // the same as one batch: no microtask has run in between
        return;
      }
      // The workflow's reactions to the signals run as microtasks once this call into the workflow
      // returns; the runtime then checks conditions, and this one delivers the rest of the jobs.
      let waiting = true;
      void wf.condition(() => {
        if (waiting && !this.activating) {
          waiting = false;
          next(rest);
        }
        return !waiting;
      });
    } finally {
      this.activating = false;
    }
  }
}

export const interceptors: wf.WorkflowInterceptorsFactory = () => ({ internals: [new RunAheadGuard()] });
