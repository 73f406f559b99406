// One workflow per job: the job's DRMAA2 lifecycle, kept durable by Temporal. Deterministic: no
// I/O here; every Podman operation is an activity.
import * as wf from '@temporalio/workflow';
import type { JobOutput, PodmanActivities } from '../activities/index.js';
import { DrmaaError } from '../common/errors.js';
import { isEndState, isJobState, JOB_CONTROL_ACTIONS, type JobControlAction, type JobState } from '../common/states.js';
import type { JobInfo, JobTemplate } from '../common/template.js';

export interface JobWorkflowInput {
  jobId: string;
  session: string;
  template: JobTemplate;
  owner?: string;
  submissionMachine?: string;
  submissionTime?: string;
}

export interface JobStatusView {
  state: JobState;
  subState: string;
}

export interface JobWorkflowResult {
  info: JobInfo;
  stdout: string;
  stderr: string;
  /** Bytes of each stream left out of this result (the output files, if any, have them all). */
  stdoutTruncated: number;
  stderrTruncated: number;
}

export const jobStateQuery = wf.defineQuery<JobStatusView>('jobState');
export const jobInfoQuery = wf.defineQuery<JobInfo>('jobInfo');
export const jobTemplateQuery = wf.defineQuery<JobTemplate>('jobTemplate');
/** Job control with an answer: the caller learns at once whether the action was accepted. */
export const jobControlUpdate = wf.defineUpdate<JobStatusView, [JobControlAction]>('jobControl');
/** The same for callers that cannot wait for an answer. */
export const jobControlSignal = wf.defineSignal<[JobControlAction]>('jobControlSignal');
/** Waits inside the workflow for one of the states; a timeout is a Timeout error. */
export const waitUpdate = wf.defineUpdate<JobStatusView, [JobState[], number | null]>('wait');

const { createAndStartContainer, pauseJob, unpauseJob, killJob, collectResult } = wf.proxyActivities<PodmanActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '500ms', maximumInterval: '10s' },
});
const { waitForExit } = wf.proxyActivities<PodmanActivities>({
  startToCloseTimeout: '3650 days',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '500ms', maximumInterval: '10s' },
});

/** Which control action each state accepts. */
const ACCEPTS: Record<JobControlAction, (s: JobState) => boolean> = {
  suspend: (s) => s === 'running',
  resume: (s) => s === 'suspended',
  hold: (s) => s === 'queued',
  release: (s) => s === 'queuedHeld',
  terminate: (s) => !isEndState(s),
};

export async function jobWorkflow(input: JobWorkflowInput): Promise<JobWorkflowResult> {
  const { jobId, template } = input;
  let state: JobState = template.submitAsHold ? 'queuedHeld' : 'queued';
  let subState = '';
  let starting = false;
  let containerId: string | undefined;
  let terminateRequested = false;
  let info: JobInfo = { id: jobId, state, subState, submissionTime: input.submissionTime };
  const ref = () => ({ jobId, containerId });
  const view = (): JobStatusView => ({ state, subState });

  const validate = (action: JobControlAction) => {
    if (!(JOB_CONTROL_ACTIONS as readonly string[]).includes(action)) {
      throw new DrmaaError('InvalidArgument', `unknown job control action "${String(action)}"; use ${JOB_CONTROL_ACTIONS.join(', ')}`);
    }
    if (!ACCEPTS[action](state) || (starting && (action === 'hold' || action === 'suspend'))) {
      throw new DrmaaError('InvalidState', `cannot ${action} job ${jobId}: it is ${starting && state === 'queued' ? 'starting' : state}`);
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
        await pauseJob(ref());
        if (state === 'running') state = 'suspended';
        break;
      case 'resume':
        await unpauseJob(ref());
        if (state === 'suspended') state = 'running';
        break;
      case 'terminate':
        terminateRequested = true;
        subState = 'terminated';
        if (containerId) await killJob(ref());
        break;
    }
    return view();
  };

  wf.setHandler(jobStateQuery, view);
  wf.setHandler(jobInfoQuery, () => ({ ...info, state, subState }));
  wf.setHandler(jobTemplateQuery, () => template);
  wf.setHandler(jobControlUpdate, control, { validator: validate });
  wf.setHandler(jobControlSignal, async (action) => {
    try {
      validate(action);
    } catch {
      return; // a signal has nobody to answer: an action the state does not accept is dropped
    }
    await control(action);
  });
  wf.setHandler(
    waitUpdate,
    async (states, timeoutMs) => {
      const reached = await wf.condition(() => states.includes(state), timeoutMs ?? undefined);
      if (!reached && !states.includes(state)) {
        throw new DrmaaError('Timeout', `job ${jobId} did not reach ${states.join(' or ')} within ${timeoutMs} ms; it is ${state}`);
      }
      return view();
    },
    {
      validator: (states, timeoutMs) => {
        if (!Array.isArray(states) || states.length === 0 || !states.every(isJobState)) {
          throw new DrmaaError('InvalidArgument', `wait needs one or more job states, got ${JSON.stringify(states)}`);
        }
        if (timeoutMs !== null && (typeof timeoutMs !== 'number' || timeoutMs < 0)) {
          throw new DrmaaError('InvalidArgument', `wait timeout must be zero or more milliseconds`);
        }
      },
    },
  );

  const finish = (final: JobWorkflowResult): JobWorkflowResult => {
    info = final.info;
    subState = final.info.subState ?? subState;
    state = final.info.state;
    return final;
  };
  const noOutput: Pick<JobWorkflowResult, 'stdout' | 'stderr' | 'stdoutTruncated' | 'stderrTruncated'> = {
    stdout: '',
    stderr: '',
    stdoutTruncated: 0,
    stderrTruncated: 0,
  };

  // Queued: until the start time, and while held.
  if (template.startTime) {
    const delay = Date.parse(template.startTime) - Date.now();
    if (delay > 0) await wf.condition(() => terminateRequested, delay);
  }
  await wf.condition(() => state === 'queued' || terminateRequested);
  if (terminateRequested) {
    return finish({ info: { ...info, state: 'failed', subState: 'terminated', finishTime: new Date().toISOString() }, ...noOutput });
  }

  starting = true;
  try {
    ({ containerId } = await createAndStartContainer({ ...input, template }));
  } catch (err) {
    const e = DrmaaError.find(err);
    return finish({
      info: { ...info, state: 'failed', subState: 'startFailed', annotation: e ? `${e.kind}: ${e.message}` : String(err) },
      ...noOutput,
    });
  } finally {
    starting = false;
  }
  state = 'running';
  if (terminateRequested) await killJob(ref()); // asked while the container was being created

  // Running: until the container exits, or the deadline ends it.
  let exited = false;
  const exit = waitForExit(ref()).finally(() => {
    exited = true;
  });
  if (template.deadlineTime) {
    const beforeDeadline = await wf.condition(() => exited, Math.max(Date.parse(template.deadlineTime) - Date.now(), 0));
    if (!beforeDeadline) {
      subState = 'deadline';
      await killJob(ref());
    }
  }
  await exit;

  const collected = await collectResult(ref(), {
    outputPath: template.outputPath,
    errorPath: template.errorPath,
    joinFiles: template.joinFiles,
  });
  const output: JobOutput = collected.output ?? noOutput;
  return finish({
    // A container that vanished before its result was read cannot be called done.
    info: {
      ...(collected.info ?? info),
      state: collected.state === 'undetermined' ? 'failed' : collected.state,
      subState: subState || collected.subState,
    },
    stdout: output.stdout,
    stderr: output.stderr,
    stdoutTruncated: output.stdoutTruncated,
    stderrTruncated: output.stderrTruncated,
  });
}
