// The DRMAA2 JobTracker over the Temporal client. A job is a workflow whose ID is the job ID
// (`<session>.<uuid>`); an array job's tasks are `<array job ID>.<task number>`.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { Client, isGrpcServiceError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { toContainerRequest } from '../common/convert.js';
import { undecryptable } from '../common/encryption.js';
import { DrmaaError, jobNotExists } from '../common/errors.js';
import { isEndState, type JobControlAction, type JobState } from '../common/states.js';
import { parseJobTemplate, type JobInfo, type JobTemplate, type JobTemplateInput } from '../common/template.js';
import {
  arrayJobInfo,
  arrayJobWorkflow,
  taskTemplate,
  validateArray,
  type ArrayJobInput,
  type ArrayJobResult,
} from '../workflows/array.js';
import { followOutput, type FollowOptions, type OutputChunk } from './live-output.js';
import {
  GRPC,
  infoOfEnding,
  unlessUnprocessed,
  unreachable,
  WorkflowReads,
  type Described,
  type Ending,
} from './reads.js';
import { jobLogsWorkflow, listJobCategoriesWorkflow } from '../workflows/categories.js';
import type { JobOutput } from '../activities/index.js';
import {
  arrayInfoQuery,
  jobControlUpdate,
  jobInfoQuery,
  jobSignalUpdate,
  jobStateQuery,
  queuedTaskControlUpdate,
  queuedTaskStateQuery,
  taskJobId,
  taskStartedUpdate,
  taskNumbers,
  waitUpdate,
  type ArrayJobInfo,
  type JobStatusView,
} from '../workflows/definitions.js';
import { deleteJobWorkflow, deletedJobId } from '../workflows/delete.js';
import { jobWorkflow, type JobWorkflowResult } from '../workflows/job.js';

export interface AddJobOptions {
  /** The job's stdin: at most MAX_STDIN_BYTES (1 MiB); a string is sent as UTF-8. */
  stdin?: Uint8Array | string;
}

export interface PodmanTrackerOptions {
  client: Client;
  /** The job session: jobs are listed, and their IDs scoped, by it. */
  session?: string;
  taskQueue?: string;
}

const SESSION_NAME = /^[A-Za-z0-9_-]+$/;
const TASK_ID = /^(.+)\.(-?\d+)$/;

/** Host paths in a template are the submitter's: make them absolute where they were written. */
function absolutePaths(t: JobTemplate, cwd = process.cwd()): JobTemplate {
  const abs = (p: string | undefined) => (p ? resolve(cwd, p) : p);
  return {
    ...t,
    inputPath: abs(t.inputPath),
    outputPath: abs(t.outputPath),
    errorPath: abs(t.errorPath),
    stageInFiles: t.stageInFiles
      ? Object.fromEntries(Object.entries(t.stageInFiles).map(([h, c]) => [resolve(cwd, h), c]))
      : undefined,
  };
}

type AnyHandle = WorkflowHandle;

/** Temporal's refusal to start a job's workflow, as a DRMAA2 error: a caller gets typed errors only. */
export function startFailure(err: unknown, what: string): unknown {
  const found = DrmaaError.find(err);
  if (found) return found;
  const grpc = [err, (err as Error | undefined)?.cause].find(isGrpcServiceError);
  if (!grpc) return err;
  const message = `${what}: Temporal refused it: ${grpc.details || grpc.message}`;
  switch (grpc.code) {
    case GRPC.RESOURCE_EXHAUSTED:
      // A message over gRPC's size limit is the caller's to fix; a rate limit or a busy server passes.
      if (!/larger than max|too large|size (limit|exceed)/i.test(`${grpc.details} ${grpc.message}`)) {
        return new DrmaaError('TryLater', message, { retryable: true });
      }
      return new DrmaaError('InvalidArgument', message);
    case GRPC.INVALID_ARGUMENT:
      return new DrmaaError('InvalidArgument', message);
    case GRPC.PERMISSION_DENIED:
    case GRPC.UNAUTHENTICATED:
      return new DrmaaError('DeniedByDrms', message);
    default:
      return new DrmaaError('DrmCommunication', message, { retryable: true });
  }
}

export class PodmanTracker {
  readonly session: string;
  readonly taskQueue: string;
  private readonly client: Client;
  private readonly reads: WorkflowReads;

  constructor(opts: PodmanTrackerOptions) {
    this.client = opts.client;
    this.reads = new WorkflowReads(opts.client);
    this.session = opts.session ?? 'default';
    this.taskQueue = opts.taskQueue ?? 'podman-tracker';
    if (!SESSION_NAME.test(this.session)) {
      throw new DrmaaError(
        'InvalidArgument',
        `session name "${this.session}" may hold only letters, digits, '_' and '-'`,
      );
    }
  }

  /**
   * Checks a template as addJob does, the worker's own checks included, and starts nothing; returns
   * the template as a worker receives it (host paths made absolute). A bad one is a DrmaaError.
   */
  validate(input: JobTemplateInput, jobId = `${this.session}.validate`, stdin?: string): JobTemplate {
    const template = absolutePaths(parseJobTemplate(input));
    toContainerRequest(template, { jobId, session: this.session, stdin });
    return template;
  }

  private submission(input: JobTemplateInput, id: string, stdin?: string) {
    const template = this.validate(input, id, stdin);
    return {
      session: this.session,
      template,
      owner: userInfo().username,
      submissionMachine: hostname(),
      submissionTime: new Date().toISOString(),
    };
  }

  /**
   * Validates the template (nothing starts when it is bad) and starts the job. `stdin` (at most
   * MAX_STDIN_BYTES) goes to the job's stdin, as `podman run -i` sends it; it travels in the job's
   * start, encrypted when payloads are, so that a rerun after a crash gets the same input.
   */
  async addJob(input: JobTemplateInput, options: AddJobOptions = {}): Promise<string> {
    const jobId = `${this.session}.${randomUUID()}`;
    const stdin = options.stdin === undefined ? undefined : Buffer.from(options.stdin).toString('base64');
    const args = [
      { jobId, ...this.submission(input, jobId, stdin), ...(stdin === undefined ? {} : { stdin }) },
    ] as const;
    await this.client.workflow
      .start(jobWorkflow, { workflowId: jobId, taskQueue: this.taskQueue, args })
      .catch((err: unknown) => {
        throw startFailure(err, `starting job ${jobId}`);
      });
    return jobId;
  }

  /** Starts tasks begin..end by step, each with TASK_ID set; maxParallel 0 means no limit of the caller's. */
  async addArrayJob(input: JobTemplateInput, begin: number, end: number, step = 1, maxParallel = 0): Promise<string> {
    validateArray(begin, end, step, maxParallel);
    const arrayJobId = `${this.session}.${randomUUID()}`;
    await this.client.workflow
      .start(arrayJobWorkflow, {
        workflowId: arrayJobId,
        taskQueue: this.taskQueue,
        args: [{ arrayJobId, begin, end, step, maxParallel, ...this.submission(input, taskJobId(arrayJobId, begin)) }],
      })
      .catch((err: unknown) => {
        throw startFailure(err, `starting array job ${arrayJobId}`);
      });
    return arrayJobId;
  }

  /** The session's jobs, finished ones included until deleted; an array job stands for all its tasks. */
  async listJobs(): Promise<string[]> {
    const prefix = `${this.session}.`;
    const deleted = new Set<string>();
    for await (const w of this.client.workflow.list({
      query: `WorkflowType = 'deleteJobWorkflow' AND WorkflowId STARTS_WITH '${deletedJobId(prefix)}'`,
    })) {
      deleted.add(w.workflowId.slice(deletedJobId('').length));
    }
    const ids = new Set<string>();
    for await (const w of this.client.workflow.list({
      query: `WorkflowType IN ('jobWorkflow', 'arrayJobWorkflow') AND WorkflowId STARTS_WITH '${prefix}'`,
    })) {
      if (w.type === 'arrayJobWorkflow') for (const t of await this.listArrayJobs(w.workflowId)) ids.add(t);
      else ids.add(w.workflowId);
    }
    return [...ids].filter((id) => !deleted.has(id)).sort();
  }

  /** Every task's job ID at once, queued ones included: from the array job's start, no worker needed. */
  async listArrayJobs(arrayJobId: string): Promise<string[]> {
    const a = await this.arrayInput(arrayJobId);
    return taskNumbers(a.begin, a.end, a.step).map((t) => taskJobId(arrayJobId, t));
  }

  /** The array job's tasks counted by state. */
  async arrayInfo(arrayJobId: string): Promise<ArrayJobInfo> {
    const w = await this.described(arrayJobId, 'arrayJobWorkflow');
    if (w.status === 'RUNNING') return this.guard(arrayJobId, () => this.reads.query(arrayJobId, arrayInfoQuery, []));
    const input = await this.arrayInput(arrayJobId, w);
    const total = taskNumbers(input.begin, input.end, input.step).length;
    const ending = await this.ending<ArrayJobResult>(arrayJobId);
    // Ended in Temporal by hand: what had not ended counts as failed.
    const done = 'result' in ending ? ending.result.done : 0;
    const failed = 'result' in ending ? ending.result.failed.length : total;
    const { begin, end, step, maxParallel, session } = input;
    return { arrayJobId, session, begin, end, step, maxParallel, total, queued: 0, held: 0, running: 0, done, failed };
  }

  jobState(jobId: string): Promise<JobStatusView> {
    return this.stateBy(jobId);
  }

  /** The job's state; a query of a running job is asked again until the deadline (default: a minute). */
  private async stateBy(jobId: string, deadline?: number): Promise<JobStatusView> {
    const w = await this.reads.describe(jobId);
    if (!w) {
      const asked = (a: string, t: number) => this.reads.query(a, queuedTaskStateQuery, [t], deadline);
      return this.queuedTask(
        jobId,
        asked,
        (v) => v,
        () => this.stateBy(jobId, deadline),
      );
    }
    if (w.status === 'RUNNING') {
      return this.guard(jobId, () => this.reads.query(jobId, jobStateQuery, [], deadline, w));
    }
    const { state, subState } = await this.endedInfo(jobId, w.type);
    return this.unlessDeleted(jobId, { state, subState: subState ?? '' });
  }

  async jobInfo(jobId: string): Promise<JobInfo> {
    const w = await this.reads.describe(jobId);
    if (!w) {
      const asked = async (a: string, t: number): Promise<JobInfo | null> => {
        const s = await this.reads.query(a, queuedTaskStateQuery, [t]);
        return s && { id: jobId, ...s };
      };
      return this.queuedTask<JobInfo>(
        jobId,
        asked,
        (v) => ({ id: jobId, ...v }),
        () => this.jobInfo(jobId),
      );
    }
    if (w.status !== 'RUNNING') return this.unlessDeleted(jobId, await this.endedInfo(jobId, w.type));
    const info = await this.guard(jobId, () => this.reads.query(jobId, jobInfoQuery, [], undefined, w));
    // The workflow knows when the job was dispatched; how long it has run is a matter of now.
    if ((info.state === 'running' || info.state === 'suspended') && info.dispatchTime) {
      info.wallclockTime = Math.max(0, Date.now() - Date.parse(info.dispatchTime));
    }
    return info;
  }

  /** The template the job was submitted with: from its start (a task's: its array job's), no worker needed. */
  async jobTemplate(jobId: string): Promise<JobTemplate> {
    if (await this.reads.describe(jobId)) {
      return this.guard(jobId, async () => (await this.reads.startInput<{ template: JobTemplate }>(jobId)).template);
    }
    const { input, task } = await this.queuedTaskOf(jobId);
    return taskTemplate(input.template, task);
  }

  /** suspend, resume, hold, release or terminate; on an array job, every task that accepts it. */
  async jobControl(jobId: string, action: JobControlAction): Promise<JobStatusView> {
    const direct = () =>
      this.call(jobId, async (h) => {
        try {
          return await h.executeUpdate(jobControlUpdate, { args: [action] });
        } catch (err) {
          throw await this.endedInstead(h, err, `cannot ${action} job ${jobId}`);
        }
      });
    const task = TASK_ID.exec(jobId);
    if (!task || (await this.exists(jobId))) return direct();
    // A task still queued in its array job: the array job controls it, unless it has just started.
    const answer = await this.call(task[1]!, (a) =>
      a.executeUpdate(queuedTaskControlUpdate, { args: [Number(task[2]), action] }),
    );
    return answer === 'started' ? direct() : answer;
  }

  /**
   * Waits for one of the states (default: an end state); timeoutMs 0 checks once, null waits for ever.
   * A wait for end states is the server's long poll on the job's result: it writes nothing into the
   * job's history and needs no worker. A wait for other states is an update the workflow answers.
   */
  async wait(
    jobId: string,
    timeoutMs: number | null = null,
    states: JobState[] = ['done', 'failed'],
  ): Promise<JobStatusView> {
    const started = Date.now();
    const rest = () => (timeoutMs === null ? null : Math.max(0, timeoutMs - (Date.now() - started)));
    const forEnd = states.every(isEndState);
    const w = await this.reads.describe(jobId);
    if (!w || (w.status === 'RUNNING' && !forEnd)) {
      const now = await this.stateBy(jobId, timeoutMs === null ? undefined : started + Math.max(timeoutMs, 1000));
      if (states.includes(now.state)) return now;
      if (isEndState(now.state)) throw cannotReach(jobId, now.state, states);
    }
    if (timeoutMs === 0 && (!w || w.status === 'RUNNING')) {
      throw new DrmaaError('Timeout', `job ${jobId} has not reached ${states.join(' or ')}`);
    }
    const task = TASK_ID.exec(jobId);
    if (!w && task) {
      // Queued in its array job: wait there until it has a workflow of its own, then on that.
      const began = await this.call(task[1]!, (a) =>
        a.executeUpdate(taskStartedUpdate, { args: [Number(task[2]), timeoutMs] }),
      );
      if (!began) throw new DrmaaError('Timeout', `job ${jobId} is still queued, not ${states.join(' or ')}`);
      // Started, or ended in the queue (terminated there): the next wait's first look answers either.
      return this.wait(jobId, rest(), states);
    }
    if (!w) throw jobNotExists(jobId);
    if (forEnd || w.status !== 'RUNNING') {
      const { state, subState } = await this.endedInfo(
        jobId,
        w.type,
        // An ended job answers at once: only a running one has a deadline to keep.
        timeoutMs === null || w.status !== 'RUNNING' ? undefined : started + timeoutMs,
      );
      const end = await this.unlessDeleted(jobId, { state, subState: subState ?? '' });
      if (states.includes(end.state)) return end;
      throw cannotReach(jobId, end.state, states);
    }
    return this.call(jobId, async (h) => {
      try {
        return await h.executeUpdate(waitUpdate, { args: [states, rest()] });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // The job ended between the first look and the update: its final state answers.
        const end = await this.jobState(jobId);
        if (states.includes(end.state)) return end;
        throw cannotReach(jobId, end.state, states);
      }
    });
  }

  /** Removes an ended job's container; the job leaves the session's list, its history stays in Temporal. */
  async deleteJob(jobId: string): Promise<void> {
    const { state } = await this.jobState(jobId);
    if (!isEndState(state))
      throw new DrmaaError('InvalidState', `job ${jobId} is ${state}; only done or failed jobs can be deleted`);
    const info = await this.jobInfo(jobId);
    try {
      await this.client.workflow.execute(deleteJobWorkflow, {
        workflowId: deletedJobId(jobId),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        taskQueue: this.taskQueue,
        args: [{ jobId, containerId: info.extension?.extensionList.containerId, host: info.allocatedMachines?.[0] }],
      });
    } catch (err) {
      if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') throw jobNotExists(jobId);
      throw DrmaaError.find(err) ?? err;
    }
  }

  /** The image names on a Podman host (any worker's when none is named). */
  listJobCategories(host?: string): Promise<string[]> {
    return this.client.workflow.execute(listJobCategoriesWorkflow, {
      workflowId: `categories-${randomUUID()}`,
      taskQueue: this.taskQueue,
      args: [host],
    });
  }

  /** The job's output so far (bounded), read from its container; empty before it has one. */
  async jobLogs(jobId: string): Promise<JobOutput> {
    const info = await this.jobInfo(jobId);
    const containerId = info.extension?.extensionList.containerId;
    const host = info.allocatedMachines?.[0];
    if (!containerId || !host) return { stdout: '', stderr: '', stdoutTruncated: 0, stderrTruncated: 0 };
    if (isEndState(info.state)) {
      // An ended job's output is in its result, even once its container is gone (rm).
      const { stdout, stderr, stdoutTruncated, stderrTruncated } = await this.result(jobId);
      return { stdout, stderr, stdoutTruncated, stderrTruncated };
    }
    return this.client.workflow.execute(jobLogsWorkflow, {
      workflowId: `logs-${randomUUID()}`,
      taskQueue: this.taskQueue,
      args: [{ jobId, containerId, host }],
    });
  }

  /**
   * The job's stdout and stderr as they are written, then the rest from its result; ends when the
   * job has ended (see client/live-output.ts). Reads what the server keeps: no worker, no Podman.
   */
  output(
    jobId: string,
    options: FollowOptions & { result?: Promise<JobWorkflowResult> } = {},
  ): AsyncGenerator<OutputChunk> {
    // A caller that wants the result too passes its own wait for it: one long poll, not two.
    const result = options.result ?? this.result(jobId);
    result.catch(() => undefined); // the generator rethrows it where it is awaited
    return followOutput(this.client, jobId, result, options);
  }

  /**
   * Passes a signal (SIGINT, TERM, 15, ...) to the job's process, as `podman kill --signal` does;
   * a job that has not started yet is terminated. An ended job is InvalidState.
   */
  async signal(jobId: string, signal: string): Promise<JobStatusView> {
    return this.call(jobId, async (h) => {
      try {
        return await h.executeUpdate(jobSignalUpdate, { args: [signal] });
      } catch (err) {
        throw await this.endedInstead(h, err, `cannot signal job ${jobId}`);
      }
    });
  }

  /** The job's final JobInfo and output, once it has ended (a long poll: no worker needed). */
  async result(jobId: string): Promise<JobWorkflowResult> {
    const ending = await this.ending<JobWorkflowResult>(jobId);
    if ('result' in ending) return ending.result;
    return { info: infoOfEnding(jobId, ending), stdout: '', stderr: '', stdoutTruncated: 0, stderrTruncated: 0 };
  }

  async arrayResult(arrayJobId: string): Promise<ArrayJobResult> {
    const ending = await this.ending<ArrayJobResult>(arrayJobId);
    if ('result' in ending) return ending.result;
    throw new DrmaaError('InvalidState', `array job ${arrayJobId} ended in Temporal: ${ending.annotation}`);
  }

  /** A deleted job has ended; once its deletion marker exists, it is gone for this API. */
  private async unlessDeleted<T extends { state: JobState }>(jobId: string, answer: T): Promise<T> {
    if (isEndState(answer.state) && (await this.exists(deletedJobId(jobId)))) throw jobNotExists(jobId);
    return answer;
  }

  private async exists(jobId: string): Promise<boolean> {
    return (await this.reads.describe(jobId)) !== undefined;
  }

  private ending<R>(jobId: string, deadline?: number): Promise<Ending<R>> {
    return this.guard(jobId, () => this.reads.ending<R>(jobId, deadline));
  }

  /** How an ended job or array job ended, as a JobInfo: from its result, which the server keeps. */
  private async endedInfo(jobId: string, type: string, deadline?: number): Promise<JobInfo> {
    if (type !== 'arrayJobWorkflow') {
      const ending = await this.ending<JobWorkflowResult>(jobId, deadline);
      return 'result' in ending ? ending.result.info : infoOfEnding(jobId, ending);
    }
    const ending = await this.ending<ArrayJobResult>(jobId, deadline);
    if (!('result' in ending)) return infoOfEnding(jobId, ending);
    const { total, done, failed } = ending.result;
    const view: JobStatusView = { state: failed.length ? 'failed' : 'done', subState: '' };
    const input = await this.arrayInput(jobId, { type, status: 'CLOSED' });
    return arrayJobInfo(input, view, { total, queued: 0, held: 0, running: 0, done, failed: failed.length });
  }

  /** The workflow, which must be of this type; JobNotExists otherwise. */
  private async described(id: string, type: string): Promise<Described> {
    const w = await this.reads.describe(id);
    if (!w || w.type !== type) throw jobNotExists(id);
    return w;
  }

  /** An array job's start input; `known`: its workflow, when the caller has described it already. */
  private async arrayInput(arrayJobId: string, known?: Described): Promise<ArrayJobInput> {
    if (known?.type !== 'arrayJobWorkflow') await this.described(arrayJobId, 'arrayJobWorkflow');
    return this.guard(arrayJobId, () => this.reads.startInput<ArrayJobInput>(arrayJobId));
  }

  /** A task ID whose workflow does not exist: its array job's start, and its number there. */
  private async queuedTaskOf(jobId: string): Promise<{ arrayJobId: string; task: number; input: ArrayJobInput }> {
    const m = TASK_ID.exec(jobId);
    if (!m) throw jobNotExists(jobId);
    const arrayJobId = m[1]!;
    const task = Number(m[2]);
    const input = await this.arrayInput(arrayJobId).catch((err: unknown) => {
      throw err instanceof DrmaaError && err.kind === 'JobNotExists' ? jobNotExists(jobId) : err;
    });
    if (!taskNumbers(input.begin, input.end, input.step).includes(task)) throw jobNotExists(jobId);
    return { arrayJobId, task, input };
  }

  /**
   * A task that has no workflow of its own: its array job keeps it while it is queued and says
   * (ask) whether it still is; one that never got a workflow in an ended array job was terminated
   * in the queue.
   */
  private async queuedTask<T>(
    jobId: string,
    ask: (arrayJobId: string, task: number) => Promise<T | null>,
    ended: (view: JobStatusView) => T,
    own: () => Promise<T>,
  ): Promise<T> {
    const { arrayJobId, task } = await this.queuedTaskOf(jobId);
    if ((await this.reads.describe(arrayJobId))?.status !== 'RUNNING') {
      return ended({ state: 'failed', subState: 'terminated' });
    }
    const answer = await this.guard(arrayJobId, () => ask(arrayJobId, task));
    if (answer) return answer;
    // No longer queued there: it has just got a workflow of its own, which answers from now on.
    if (!(await this.reads.describe(jobId))) throw jobNotExists(jobId);
    return own();
  }

  /** Runs a read, with Temporal's errors as DRMAA2 errors. */
  private async guard<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw jobNotExists(jobId);
      throw DrmaaError.find(err) ?? undecryptable(err, `job ${jobId}`) ?? unreachable(err, `job ${jobId}`) ?? err;
    }
  }

  /** A call on the job's workflow, with Temporal's errors as DRMAA2 errors. */
  private call<T>(jobId: string, fn: (h: AnyHandle) => Promise<T>): Promise<T> {
    return this.guard(jobId, () => unlessUnprocessed(() => fn(this.reads.handle(jobId))));
  }

  /** An update to a workflow that has closed fails as "not found": say that the job has ended instead. */
  private async endedInstead(h: AnyHandle, err: unknown, what: string): Promise<unknown> {
    if (!(err instanceof WorkflowNotFoundError)) return err;
    const s = await this.jobState(h.workflowId).catch(() => undefined);
    return s ? new DrmaaError('InvalidState', `${what}: it is ${s.state}`) : err;
  }
}

function cannotReach(jobId: string, ended: JobState, states: JobState[]): DrmaaError {
  return new DrmaaError('InvalidState', `job ${jobId} ended ${ended}; it cannot reach ${states.join(' or ')}`);
}
