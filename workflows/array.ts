// An array job: tasks begin..end by step, each a job workflow of its own with TASK_ID in its
// environment, never more than maxParallel of them at once. Tasks waiting for a slot live here
// (held, released or terminated one by one) until they get a workflow. Continues as new before its
// history grows too long, so 10,000 tasks fit Temporal's limits.
import * as wf from '@temporalio/workflow';
import { DrmaaError } from '../common/errors.js';
import { isEndState, type JobControlAction, type JobState } from '../common/states.js';
import type { JobInfo, JobTemplate } from '../common/template.js';
import {
  arrayInfoQuery,
  jobControlSignal,
  jobControlUpdate,
  jobInfoQuery,
  jobStateQuery,
  jobTemplateQuery,
  queuedTaskControlUpdate,
  queuedTaskStateQuery,
  taskEndedSignal,
  taskStartedUpdate,
  taskJobId,
  taskNumbers,
  waitFor,
  waitUpdate,
  type ArrayJobInfo,
  type JobStatusView,
} from './definitions.js';
import type { TaskActivities } from '../activities/tasks.js';
import { validateAction, validateControl, validateWait } from './job.js';
import { runSignalReactionsFirst } from './interceptors.js';

/** Tasks in flight per run: well under Temporal's 2,000 pending children of one workflow. */
export const MAX_IN_FLIGHT = 1000;
/** Tasks started per run before it continues as new (each costs the parent about four events). */
const TASKS_PER_RUN = 400;
const TASK_CHECK_INTERVAL_MS = 5 * 60_000;
/** The patch (wf.patched) after which the quiet-task check has a timer of its own. */
const OWN_CHECK_TIMER = 'own-check-timer';

/**
 * Task workflows are started by a local activity, not as child workflows: the array job then records
 * one event per task (its end signal) instead of four, and the server does no parent bookkeeping.
 */
const { startTasks, closedTasks } = wf.proxyLocalActivities<TaskActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500ms', maximumInterval: '10s' },
});

export interface ArrayJobInput {
  arrayJobId: string;
  session: string;
  template: JobTemplate;
  begin: number;
  end: number;
  step: number;
  /** At most this many tasks at once; 0 means no limit of the caller's (MAX_IN_FLIGHT still holds). */
  maxParallel: number;
  owner?: string;
  submissionMachine?: string;
  submissionTime?: string;
  /** What an earlier run of this array job handed over when it continued as new. */
  carry?: ArrayCarry;
  /** How long without news of any task before the array job asks after its running tasks (default 5 minutes). */
  taskCheckIntervalMs?: number;
}

export interface ArrayCarry {
  /** Index (into the task numbers) of the next task never yet considered. */
  cursor: number;
  /** Tasks released after the cursor passed them: they run first. */
  backlog: number[];
  held: number[];
  running: number[];
  done: number;
  failed: number[];
  /** Tasks terminated while queued here: they never had a workflow. */
  terminatedQueued: number[];
  terminating: boolean;
}

export interface ArrayJobResult {
  arrayJobId: string;
  total: number;
  done: number;
  failed: number[];
}

/** A task's own template: TASK_ID in its environment, DRMAA2's $DRMAA2_INDEX$ in its paths replaced. */
export function taskTemplate(t: JobTemplate, task: number): JobTemplate {
  const index = (p: string | undefined) => p?.replaceAll('$DRMAA2_INDEX$', String(task));
  return {
    ...t,
    jobEnvironment: { ...t.jobEnvironment, TASK_ID: String(task) },
    inputPath: index(t.inputPath),
    outputPath: index(t.outputPath),
    errorPath: index(t.errorPath),
  };
}

/** An array job's JobInfo: its own times and owner, and its tasks counted by state. */
export function arrayJobInfo(
  input: Pick<ArrayJobInput, 'arrayJobId' | 'submissionTime' | 'owner' | 'submissionMachine'>,
  view: JobStatusView,
  counts: Pick<ArrayJobInfo, 'total' | 'queued' | 'held' | 'running' | 'done' | 'failed'>,
): JobInfo {
  const { total, queued, held, running, done, failed } = counts;
  return {
    id: input.arrayJobId,
    ...view,
    submissionTime: input.submissionTime,
    jobOwner: input.owner,
    submissionMachine: input.submissionMachine,
    extension: { extensionList: { total: `${total}`, queued: `${queued}`, held: `${held}`, running: `${running}`, done: `${done}`, failed: `${failed}` } }, // prettier-ignore
  };
}

export function validateArray(begin: number, end: number, step: number, maxParallel: number): void {
  const int = (n: number) => Number.isSafeInteger(n);
  if (![begin, end, step, maxParallel].every(int)) {
    throw new DrmaaError('InvalidArgument', 'begin, end, step and maxParallel must be integers');
  }
  if (step < 1) throw new DrmaaError('InvalidArgument', `step must be 1 or more, got ${step}`);
  if (begin > end) throw new DrmaaError('InvalidArgument', `begin (${begin}) must not be after end (${end})`);
  if (maxParallel < 0)
    throw new DrmaaError('InvalidArgument', `maxParallel must be 0 (no limit) or more, got ${maxParallel}`);
}

export async function arrayJobWorkflow(input: ArrayJobInput): Promise<ArrayJobResult> {
  const { arrayJobId, begin, end, step } = input;
  validateArray(begin, end, step, input.maxParallel);
  const tasks = taskNumbers(begin, end, step);
  const limit = Math.min(input.maxParallel || MAX_IN_FLIGHT, MAX_IN_FLIGHT);
  const c: ArrayCarry = input.carry ?? {
    cursor: 0,
    backlog: [],
    held: [],
    running: [],
    done: 0,
    failed: [],
    terminatedQueued: [],
    terminating: false,
  };
  const held = new Set(c.held);
  const running = new Set(c.running);
  const failed = new Set(c.failed);
  const terminatedQueued = new Set(c.terminatedQueued);
  /** Tasks whose workflow is being started: queued for every caller until it exists. */
  const starting = new Set<number>();
  /**
   * Ends heard before this history started the task: only a history that the SDK ran ahead (see
   * workflows/interceptors.ts) has them. Each counts once the start that made it is done.
   */
  const endedEarly = new Map<number, JobState>();
  /** Position of a task number in the sequence, or -1. */
  const indexOf = (t: number) =>
    Number.isSafeInteger(t) && t >= begin && t <= end && (t - begin) % step === 0 ? (t - begin) / step : -1;
  const isTask = (t: number) => indexOf(t) >= 0;
  let done = c.done;
  let startedThisRun = 0;

  const ended = () => done + failed.size;
  const queuedCount = () => tasks.length - ended() - running.size - held.size;
  const notStarted = (t: number) =>
    !running.has(t) && !failed.has(t) && (held.has(t) || c.backlog.includes(t) || indexOf(t) >= c.cursor);
  const arrayState = (): JobStatusView => {
    if (ended() === tasks.length) return { state: failed.size ? 'failed' : 'done', subState: '' };
    if (running.size) return { state: 'running', subState: '' };
    if (queuedCount() === 0 && held.size) return { state: 'queuedHeld', subState: '' };
    return { state: 'queued', subState: '' };
  };
  const info = (): ArrayJobInfo => ({
    arrayJobId,
    session: input.session,
    begin,
    end,
    step,
    maxParallel: input.maxParallel,
    total: tasks.length,
    queued: queuedCount(),
    held: held.size,
    running: running.size,
    done,
    failed: failed.size,
  });

  /** The next task to start: released ones first, then in order; held ones wait. */
  const nextTask = (): number | undefined => {
    if (c.backlog.length) return c.backlog.shift();
    while (c.cursor < tasks.length) {
      const t = tasks[c.cursor++]!;
      if (!held.has(t) && !failed.has(t)) return t;
    }
    return undefined;
  };

  const controlQueued = (t: number, action: JobControlAction): JobStatusView => {
    switch (action) {
      case 'hold':
        held.add(t);
        c.backlog = c.backlog.filter((x) => x !== t);
        return { state: 'queuedHeld', subState: '' };
      case 'release':
        held.delete(t);
        if (indexOf(t) < c.cursor) c.backlog.push(t);
        return { state: 'queued', subState: '' };
      case 'terminate':
        held.delete(t);
        c.backlog = c.backlog.filter((x) => x !== t);
        failed.add(t);
        terminatedQueued.add(t);
        return { state: 'failed', subState: 'terminated' };
      default:
        throw new DrmaaError('InvalidState', `cannot ${action} task ${taskJobId(arrayJobId, t)}: it is queued`);
    }
  };
  const queuedState = (t: number): JobStatusView | null => {
    if (starting.has(t)) return { state: 'queued', subState: '' };
    if (held.has(t)) return { state: 'queuedHeld', subState: '' };
    if (terminatedQueued.has(t)) return { state: 'failed', subState: 'terminated' };
    return notStarted(t) ? { state: 'queued', subState: '' } : null;
  };

  wf.setHandler(arrayInfoQuery, info);
  wf.setHandler(jobStateQuery, arrayState);
  wf.setHandler(jobTemplateQuery, () => input.template);
  wf.setHandler(jobInfoQuery, () => arrayJobInfo(input, arrayState(), info()));
  wf.setHandler(queuedTaskStateQuery, queuedState);
  wf.setHandler(
    queuedTaskControlUpdate,
    async (t, action) => {
      if (!notStarted(t)) {
        await wf.condition(() => !starting.has(t)); // its workflow exists once this answers
        return 'started';
      }
      return controlQueued(t, action);
    },
    {
      validator: (t, action) => {
        if (!isTask(t)) throw new DrmaaError('JobNotExists', `job ${taskJobId(arrayJobId, t)} does not exist`);
        if (notStarted(t)) validateControl(taskJobId(arrayJobId, t), action, held.has(t) ? 'queuedHeld' : 'queued');
      },
    },
  );
  const countEnd = (t: number, state: JobState) => {
    if (state === 'done') done++;
    else failed.add(t);
  };
  wf.setHandler(taskEndedSignal, (t, state: JobState) => {
    if (running.delete(t)) return countEnd(t, state);
    if (notStarted(t) && !endedEarly.has(t)) {
      endedEarly.set(t, state);
      runSignalReactionsFirst();
    }
    // Otherwise told twice (a retried signal, or after a check): counted once.
  });

  /** Control of the array job: every task whose state accepts the action gets it. */
  const controlAll = async (action: JobControlAction): Promise<JobStatusView> => {
    if (action === 'terminate') c.terminating = true;
    for (const t of tasks) {
      if (!notStarted(t)) continue;
      const s = held.has(t) ? 'queuedHeld' : 'queued';
      if (action === 'hold' && s === 'queued') controlQueued(t, 'hold');
      if (action === 'release' && s === 'queuedHeld') controlQueued(t, 'release');
      if (action === 'terminate') controlQueued(t, 'terminate');
    }
    if (action === 'suspend' || action === 'resume' || action === 'terminate') {
      await Promise.all(
        [...running].map((t) =>
          wf
            .getExternalWorkflowHandle(taskJobId(arrayJobId, t))
            .signal(jobControlSignal, action)
            .catch(() => undefined),
        ),
      );
    }
    return arrayState();
  };
  wf.setHandler(jobControlUpdate, controlAll, {
    validator: (action) => {
      // Every task whose state accepts the action gets it; once all have ended, none does.
      validateAction(action);
      const state = arrayState().state;
      if (isEndState(state)) throw new DrmaaError('InvalidState', `array job ${arrayJobId} has ended`);
    },
  });
  wf.setHandler(jobControlSignal, async (action) => {
    await controlAll(action).catch(() => undefined);
  });
  wf.setHandler(
    waitUpdate,
    async (states, timeoutMs) => {
      const now = () => arrayState().state;
      const reached = await waitFor(() => states.includes(now()) || isEndState(now()), timeoutMs);
      if (reached && !states.includes(now())) {
        throw new DrmaaError(
          'InvalidState',
          `array job ${arrayJobId} ended ${now()}; it cannot reach ${states.join(' or ')}`,
        );
      }
      if (!reached) {
        throw new DrmaaError(
          'Timeout',
          `array job ${arrayJobId} did not reach ${states.join(' or ')} within ${timeoutMs} ms`,
        );
      }
      return arrayState();
    },
    { validator: validateWait },
  );

  wf.setHandler(taskStartedUpdate, (t, timeoutMs) => waitFor(() => !notStarted(t) && !starting.has(t), timeoutMs), {
    validator: (t: number, _timeoutMs: number | null) => {
      if (!isTask(t)) throw new DrmaaError('JobNotExists', `job ${taskJobId(arrayJobId, t)} does not exist`);
    },
  });

  /** Starts tasks' workflows together; each is counted running before the start goes out. */
  const startTaskBatch = async (batch: number[]) => {
    for (const t of batch) {
      running.add(t);
      starting.add(t);
      startedThisRun++;
    }
    const starts = batch.map((t) => ({
      workflowId: taskJobId(arrayJobId, t),
      input: {
        jobId: taskJobId(arrayJobId, t),
        session: input.session,
        template: taskTemplate(input.template, t),
        owner: input.owner,
        submissionMachine: input.submissionMachine,
        submissionTime: input.submissionTime,
        arrayJobId,
        taskNumber: t,
      },
    }));
    await startTasks(wf.workflowInfo().taskQueue, starts);
    for (const t of batch) {
      starting.delete(t);
      const early = endedEarly.get(t);
      if (early && running.delete(t)) countEnd(t, early);
      endedEarly.delete(t);
    }
  };

  /** A task that ends tells us; one closed in Temporal by hand cannot: after a quiet spell, ask. */
  const checkQuietTasks = async () => {
    const byId = new Map([...running].map((t) => [taskJobId(arrayJobId, t), t]));
    for (const { workflowId, state } of await closedTasks([...byId.keys()])) {
      const t = byId.get(workflowId)!;
      if (running.delete(t)) countEnd(t, state);
    }
  };

  const news = () =>
    ended() === tasks.length ||
    (!c.terminating && running.size < limit && (c.backlog.length > 0 || queuedCount() > 0)) ||
    startedThisRun >= TASKS_PER_RUN ||
    wf.workflowInfo().continueAsNewSuggested;
  const checkEvery = input.taskCheckIntervalMs ?? TASK_CHECK_INTERVAL_MS;
  // The check for quiet tasks runs on a timer of its own that the loop never cancels: a wait with a
  // timeout cancels and starts a timer at every task's end, two events each, and those commands,
  // beside an update's answer in the same activation, came out in another order when the SDK split
  // the activation (README, "Determinism and the Temporal SDK"). Runs begun before wait as they did.
  const ownCheckTimer = wf.patched(OWN_CHECK_TIMER);
  let checkDue = false;
  const armCheck = () => void wf.sleep(checkEvery).then(() => (checkDue = true));
  if (ownCheckTimer) armCheck();

  while (ended() < tasks.length) {
    let hasNews: boolean;
    if (ownCheckTimer) {
      await wf.condition(() => news() || checkDue);
      hasNews = news();
      if (checkDue) {
        checkDue = false;
        armCheck();
      }
    } else {
      hasNews = await wf.condition(news, checkEvery);
    }
    if (!hasNews) {
      if (running.size) await checkQuietTasks();
      continue;
    }
    if (ended() === tasks.length) break;
    if (startedThisRun >= TASKS_PER_RUN || wf.workflowInfo().continueAsNewSuggested) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof arrayJobWorkflow>({
        ...input,
        carry: {
          ...c,
          held: [...held],
          running: [...running],
          done,
          failed: [...failed],
          terminatedQueued: [...terminatedQueued],
        },
      });
    }
    // Fill every free slot in one go: the starts go out together, in one local activity.
    const batch: number[] = [];
    for (
      let t: number | undefined;
      !c.terminating &&
      running.size + batch.length < limit &&
      startedThisRun + batch.length < TASKS_PER_RUN &&
      (t = nextTask()) !== undefined;
    ) {
      batch.push(t);
    }
    if (batch.length) await startTaskBatch(batch);
  }
  await wf.condition(wf.allHandlersFinished);
  return { arrayJobId, total: tasks.length, done, failed: [...failed].sort((a, b) => a - b) };
}
