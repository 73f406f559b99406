// One workflow per job: the job's DRMAA2 lifecycle, kept durable by Temporal. Deterministic: no
// I/O here; every Podman operation is an activity on the worker of the host that holds the container.
import * as wf from '@temporalio/workflow';
import type { PodmanActivities, WaitAndCollectResult } from '../activities/index.js';
import { DrmaaError } from '../common/errors.js';
import { isEndState, isJobState, JOB_CONTROL_ACTIONS, type JobControlAction, type JobState } from '../common/states.js';
import type { JobInfo, JobTemplate } from '../common/template.js';
import {
  hostQueue,
  jobControlSignal,
  jobControlUpdate,
  jobInfoQuery,
  jobSignalUpdate,
  jobStateQuery,
  jobTemplateQuery,
  taskEndedSignal,
  waitFor,
  waitUpdate,
  type JobStatusView,
} from './definitions.js';

export interface JobWorkflowInput {
  jobId: string;
  session: string;
  template: JobTemplate;
  owner?: string;
  submissionMachine?: string;
  submissionTime?: string;
  /** For a task of an array job: the array job to tell when the task ends, and the task number. */
  arrayJobId?: string;
  taskNumber?: number;
  /** The caller's stdin (base64, at most 1 MiB), fed to the job's stdin; a rerun gets it again. */
  stdin?: string;
}

export interface JobWorkflowResult {
  info: JobInfo;
  stdout: string;
  stderr: string;
  /** Bytes of each stream left out of this result (the output files, if any, have them all). */
  stdoutTruncated: number;
  stderrTruncated: number;
}

/** How often a reRunnable job whose container vanished is started again before it fails. */
const MAX_RERUNS = 3;
const RETRY = { initialInterval: '500ms', maximumInterval: '10s' } as const;

/** Which control action each state accepts. */
const ACCEPTS: Record<JobControlAction, (s: JobState) => boolean> = {
  suspend: (s) => s === 'running',
  resume: (s) => s === 'suspended',
  hold: (s) => s === 'queued',
  release: (s) => s === 'queuedHeld',
  terminate: (s) => !isEndState(s),
};

export function validateAction(action: JobControlAction): void {
  if (!(JOB_CONTROL_ACTIONS as readonly string[]).includes(action)) {
    throw new DrmaaError(
      'InvalidArgument',
      `unknown job control action "${String(action)}"; use ${JOB_CONTROL_ACTIONS.join(', ')}`,
    );
  }
}

export function validateControl(jobId: string, action: JobControlAction, state: JobState, starting = false): void {
  validateAction(action);
  if (!ACCEPTS[action](state) || (starting && action === 'hold')) {
    throw new DrmaaError('InvalidState', `cannot ${action} job ${jobId}: it is ${starting ? 'starting' : state}`);
  }
}

/** A signal by name (SIGINT, INT) or number, as `podman kill --signal` takes it. */
export function validateSignal(signal: string): void {
  if (typeof signal !== 'string' || !/^(SIG)?[A-Z][A-Z0-9+-]*$|^\d{1,2}$/.test(signal)) {
    throw new DrmaaError('InvalidArgument', `"${String(signal)}" is not a signal (SIGINT, TERM, 15, ...)`);
  }
}

export function validateWait(states: JobState[], timeoutMs: number | null): void {
  if (!Array.isArray(states) || states.length === 0 || !states.every(isJobState)) {
    throw new DrmaaError('InvalidArgument', `wait needs one or more job states, got ${JSON.stringify(states)}`);
  }
  if (timeoutMs !== null && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))) {
    throw new DrmaaError('InvalidArgument', `wait timeout must be zero or more milliseconds`);
  }
}

function activitiesOn(taskQueue: string) {
  // Every activity heartbeats (or ends within the heartbeat timeout): a worker killed in the middle
  // of one is noticed in seconds, and the activity retried elsewhere.
  const short = wf.proxyActivities<PodmanActivities>({
    taskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '10s',
    retry: RETRY,
  });
  const watch = wf.proxyActivities<PodmanActivities>({
    taskQueue,
    startToCloseTimeout: '3650 days',
    heartbeatTimeout: '10s',
    retry: RETRY,
  });
  // proxyActivities returns a Proxy: name the members, a spread would copy none.
  const { createAndStartContainer, pauseJob, unpauseJob, killJob, signalJob } = short;
  return { createAndStartContainer, pauseJob, unpauseJob, killJob, signalJob, waitAndCollect: watch.waitAndCollect };
}

/**
 * Creation on whichever worker runs the workflow task, as a local activity: no activity task goes
 * through the server (fewer events, one round trip less per job). A crash mid-create replays the
 * workflow task and runs it again, which finds the container the first attempt made.
 */
const {
  createAndStartContainer: createHere,
  waitAndCollect: waitHere,
  removeStrayContainer: removeStrayHere,
} = wf.proxyLocalActivities<PodmanActivities>({
  startToCloseTimeout: '10 minutes',
  retry: RETRY,
});
/**
 * A job created here is first watched here too, by the same local activity, for this long: a short
 * job (most array tasks) then starts, ends and is collected in one workflow task with one activity.
 * Queries and control wait for that task to finish, so the window is short; a job still running
 * after it is watched by a normal activity.
 */
const QUICK_WAIT_MS = 500;
/** The patch (wf.patched) after which a job submitted past its deadline is not started. */
const PAST_DEADLINE_NOT_STARTED = 'past-deadline-not-started';
/** The patch after which a job terminated before it knew of a container removes one a lost creation made. */
const REMOVE_STRAY_ON_TERMINATE = 'remove-stray-on-terminate';
/** The patch after which a control signal waits for a pause or unpause under way. */
const SIGNAL_WAITS_FOR_PAUSE = 'signal-waits-for-pause';

export async function jobWorkflow(input: JobWorkflowInput): Promise<JobWorkflowResult> {
  const { jobId, template } = input;
  const baseQueue = wf.workflowInfo().taskQueue;
  let state: JobState = template.submitAsHold ? 'queuedHeld' : 'queued';
  let subState = '';
  let starting = false;
  let containerId: string | undefined;
  let host: string | undefined;
  let dispatchTime: string | undefined;
  let terminateRequested = false;
  let info: JobInfo = { id: jobId, state, subState, submissionTime: input.submissionTime };
  const ref = () => ({ jobId, containerId });
  const view = (): JobStatusView => ({ state, subState });
  // Until the container exists, its host is not known: creation goes to the host the template names,
  // or to any worker; everything after it goes to the worker of the host that holds the container.
  const onHost = () => {
    const target = host ?? template.queueName;
    return activitiesOn(target ? hostQueue(baseQueue, target) : baseQueue);
  };

  /** The pause or unpause of a suspend or resume under way: a signal that comes meanwhile waits for it. */
  let pausing: Promise<void> | undefined;
  const pause = async (call: Promise<void>) => {
    pausing = call;
    try {
      await call;
    } finally {
      if (pausing === call) pausing = undefined;
    }
  };
  const control = async (action: JobControlAction): Promise<JobStatusView> => {
    switch (action) {
      case 'hold':
        state = 'queuedHeld';
        break;
      case 'release':
        state = 'queued';
        break;
      case 'suspend':
        await pause(onHost().pauseJob(ref()));
        if (state === 'running') state = 'suspended';
        break;
      case 'resume':
        await pause(onHost().unpauseJob(ref()));
        if (state === 'suspended') state = 'running';
        break;
      case 'terminate': {
        const before = { terminateRequested, subState };
        terminateRequested = true;
        subState = 'terminated';
        try {
          if (containerId) await onHost().killJob(ref());
        } catch (err) {
          // Not killed (see killJob): the job goes on as it was, and the caller is told why.
          ({ terminateRequested, subState } = before);
          throw err;
        }
        break;
      }
    }
    return view();
  };

  wf.setHandler(jobStateQuery, view);
  wf.setHandler(jobInfoQuery, () => ({ ...info, state, subState }));
  wf.setHandler(jobTemplateQuery, () => template);
  wf.setHandler(jobControlUpdate, control, {
    validator: (action) => validateControl(jobId, action, state, starting && !containerId),
  });
  // A signal for the job's process (`podman-tracker run` passes on its SIGINT and SIGTERM, as
  // `podman run --sig-proxy` does). A job not started yet has no process: the signal ends it there.
  wf.setHandler(
    jobSignalUpdate,
    async (signal) => {
      if (containerId) await onHost().signalJob(ref(), signal);
      else if (!isEndState(state)) await control('terminate');
      return view();
    },
    {
      validator: (signal) => {
        validateSignal(signal);
        if (isEndState(state)) throw new DrmaaError('InvalidState', `cannot signal job ${jobId}: it is ${state}`);
      },
    },
  );
  wf.setHandler(jobControlSignal, async (action) => {
    // A resume sent right after a suspend (an array job passes both on to its tasks) is judged by
    // the state the suspend leads to, not dropped because the pause had not come back yet. Jobs
    // begun before this rule dropped it: their histories carry no marker and replay as they were.
    while (pausing && wf.patched(SIGNAL_WAITS_FOR_PAUSE)) await pausing.catch(() => undefined);
    try {
      validateControl(jobId, action, state, starting && !containerId);
    } catch {
      return; // a signal has nobody to answer: an action the state does not accept is dropped
    }
    // Nor an action that fails: it must not fail the job's workflow (an update's caller is told).
    await control(action).catch((err: unknown) =>
      wf.log.warn('job control failed', { jobId, action, error: String(err) }),
    );
  });
  wf.setHandler(
    waitUpdate,
    async (states, timeoutMs) => {
      // An end state that is not among them ends the wait too: it can never be reached now, and a
      // wait left open would keep the workflow from completing.
      const reached = await waitFor(() => states.includes(state) || isEndState(state), timeoutMs);
      if (reached && !states.includes(state)) {
        throw new DrmaaError('InvalidState', `job ${jobId} ended ${state}; it cannot reach ${states.join(' or ')}`);
      }
      if (!reached && !states.includes(state)) {
        throw new DrmaaError(
          'Timeout',
          `job ${jobId} did not reach ${states.join(' or ')} within ${timeoutMs} ms; it is ${state}`,
        );
      }
      return view();
    },
    { validator: validateWait },
  );

  const deadlineMs = () => (template.deadlineTime ? Date.parse(template.deadlineTime) - Date.now() : undefined);
  const noOutput = { stdout: '', stderr: '', stdoutTruncated: 0, stderrTruncated: 0 };
  const finish = async (final: JobWorkflowResult): Promise<JobWorkflowResult> => {
    wf.log.info('job ended', {
      jobId,
      state: final.info.state,
      subState: final.info.subState,
      exitStatus: final.info.exitStatus,
    });
    info = final.info;
    state = final.info.state;
    subState = final.info.subState ?? '';
    await tellArrayJob(state);
    await wf.condition(wf.allHandlersFinished);
    return final;
  };
  // An array task's end reaches its array job once: from the activity that saw the container end
  // (so the next task takes the slot at once), else from here when the job ends.
  let told = false;
  const tellArrayJob = async (ended: JobState) => {
    if (told || input.arrayJobId === undefined || input.taskNumber === undefined) return;
    told = true;
    await wf
      .getExternalWorkflowHandle(input.arrayJobId)
      .signal(taskEndedSignal, input.taskNumber, ended)
      .catch(() => undefined); // the array job is gone: nobody to tell
  };
  const endWithoutContainer = (why: string, annotation?: string) =>
    finish({
      info: { ...info, state: 'failed', subState: why, finishTime: new Date().toISOString(), annotation },
      ...noOutput,
    });

  // Queued: until the start time, while held, and never past the deadline.
  if (template.startTime) {
    const delay = Date.parse(template.startTime) - Date.now();
    if (delay > 0) await wf.condition(() => terminateRequested, delay);
  }
  const queuedUntilDeadline = deadlineMs();
  const startable = () => state === 'queued' || terminateRequested;
  let released = true;
  if (queuedUntilDeadline === undefined) await wf.condition(startable);
  // A job whose deadline has passed by now is never started. Before this rule it was started and
  // killed at once: the patch marker (written in such jobs only) lets those histories replay.
  else if (queuedUntilDeadline <= 0 && wf.patched(PAST_DEADLINE_NOT_STARTED)) released = false;
  else released = await wf.condition(startable, Math.max(queuedUntilDeadline, 0));
  if (terminateRequested) {
    // A creation here that a killed worker had begun leaves no trace in the history, but may have
    // made (and started) the container: it goes with the job. Jobs ended so before this rule carry
    // no marker and replay as they were.
    if (!template.queueName && wf.patched(REMOVE_STRAY_ON_TERMINATE)) await removeStrayHere(ref());
    return endWithoutContainer('terminated');
  }
  if (!released) return endWithoutContainer('deadline');

  // What the activity that waits needs besides the container: the output files, and the array job
  // to tell the moment the container ends.
  const files = { outputPath: template.outputPath, errorPath: template.errorPath, joinFiles: template.joinFiles };
  const task =
    input.arrayJobId !== undefined && input.taskNumber !== undefined
      ? { arrayJobId: input.arrayJobId, taskNumber: input.taskNumber }
      : undefined;
  /** A kill that fails (see killJob) leaves the job running and watched, not its workflow failed. */
  const killOrGoOn = async (acts: ReturnType<typeof activitiesOn>) => {
    try {
      await acts.killJob(ref());
    } catch (err) {
      wf.log.warn('job not killed; it is watched on', { jobId, error: String(err) });
    }
  };
  /** Watches the running job on its host until it ends, or the deadline ends it. */
  const watch = async (acts: ReturnType<typeof activitiesOn>) => {
    let exited = false;
    const exit = acts.waitAndCollect(ref(), files, task).finally(() => {
      exited = true;
    });
    const deadline = deadlineMs();
    if (deadline !== undefined && !(await wf.condition(() => exited, Math.max(deadline, 0)))) {
      subState = 'deadline';
      await killOrGoOn(acts);
    }
    return exit;
  };

  const here = !template.queueName;
  for (let run = 0; ; run++) {
    starting = true;
    let quick: WaitAndCollectResult | undefined;
    // A job for a named host is created by that host's worker; any other job where it is, and (with
    // no deadline to keep) watched there for its first moments by the same call.
    const watchFirst = here && deadlineMs() === undefined ? { files, task, withinMs: QUICK_WAIT_MS } : undefined;
    try {
      if (here) {
        ({ containerId, host, dispatchTime, quick } = await createHere({ ...input, template }, watchFirst));
      } else {
        ({ containerId, host, dispatchTime } = await onHost().createAndStartContainer({ ...input, template }));
      }
    } catch (err) {
      const e = DrmaaError.find(err);
      // The deadline passed during creation (a long pull): the activity did not start the container.
      const why = e?.kind === 'Timeout' && (deadlineMs() ?? 1) <= 0 ? 'deadline' : 'startFailed';
      return endWithoutContainer(why, e ? `${e.kind}: ${e.message}` : String(err));
    } finally {
      starting = false;
    }
    // No first wait came back with the creation (it failed; or, in a history recorded before the
    // creation did it, it was never asked for): it gets a call of its own, as it always had before.
    // The rule replays those histories unchanged, so no patch marker is needed.
    if (watchFirst && !quick && !terminateRequested) quick = await waitHere(ref(), files, task, QUICK_WAIT_MS);
    if (state === 'queued') state = 'running';
    wf.log.info('job running', { jobId, host, containerId });
    info = {
      ...info,
      dispatchTime: dispatchTime ?? info.dispatchTime,
      allocatedMachines: [host!],
      jobOwner: input.owner,
      submissionMachine: input.submissionMachine,
      slots: 1,
      extension: { extensionList: { containerId: containerId!, image: template.jobCategory ?? '' } },
    };
    const acts = onHost();
    const endedQuickly = quick && quick.ended.state !== 'running' ? quick : undefined;
    // Asked while the container was being created (a long pull lets a workflow task through).
    if (terminateRequested && !endedQuickly) await killOrGoOn(acts);

    // Running: until the container exits, or the deadline ends it. The activity that waits also
    // tells an array job the moment the container ends, then collects the output.
    const { ended, collected, told: toldByActivity } = endedQuickly ?? (await watch(acts));
    if (toldByActivity) told = true;

    if (ended.state === 'undetermined' || !collected) {
      // The container vanished (host lost, removed by hand) before its exit was seen.
      if (template.reRunnable && !terminateRequested && run < MAX_RERUNS) {
        wf.log.warn('container vanished; starting the reRunnable job again', { jobId, run });
        containerId = undefined;
        host = undefined;
        state = 'queued';
        continue;
      }
      return endWithoutContainer('containerLost', 'the container vanished before the job was seen to end');
    }

    const output = collected.output ?? noOutput;
    const endState = collected.state === 'undetermined' ? ended.state : collected.state;
    return finish({
      info: {
        ...(collected.info ?? ended.info ?? info),
        state: endState,
        // A terminate or deadline whose kill came too late (the job had just exited 0) did not end
        // it: the job is done, and says nothing of them.
        subState: (endState === 'done' ? '' : subState) || collected.subState || ended.subState,
      },
      stdout: output.stdout,
      stderr: output.stderr,
      stdoutTruncated: output.stdoutTruncated,
      stderrTruncated: output.stderrTruncated,
    });
  }
}
