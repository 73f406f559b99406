// Messages of the job and array-job workflows: what clients and other workflows may send them.
import * as wf from '@temporalio/workflow';
import type { JobControlAction, JobState } from '../common/states.js';
import type { JobInfo, JobTemplate } from '../common/template.js';

export interface JobStatusView {
  state: JobState;
  subState: string;
}

export const jobStateQuery = wf.defineQuery<JobStatusView>('jobState');
export const jobInfoQuery = wf.defineQuery<JobInfo>('jobInfo');
export const jobTemplateQuery = wf.defineQuery<JobTemplate>('jobTemplate');
/** Job control with an answer: the caller learns at once whether the action was accepted. */
export const jobControlUpdate = wf.defineUpdate<JobStatusView, [JobControlAction]>('jobControl');
/** The same for callers that cannot wait for an answer (and for an array job to reach its tasks). */
export const jobControlSignal = wf.defineSignal<[JobControlAction]>('jobControlSignal');
/** A signal for the job's process (by name or number); a job with no process yet is terminated. */
export const jobSignalUpdate = wf.defineUpdate<JobStatusView, [string]>('jobSignal');
/** Waits inside the workflow for one of the states; a timeout is a Timeout error. */
export const waitUpdate = wf.defineUpdate<JobStatusView, [JobState[], number | null]>('wait');

/** A task tells its array job that it has ended. */
export const taskEndedSignal = wf.defineSignal<[number, JobState]>('taskEnded');
/** The array job's parameters, from which every task's job ID follows. */
export const arrayInfoQuery = wf.defineQuery<ArrayJobInfo>('arrayInfo');
/** A task that has no workflow yet (queued for a slot): its state as the array job keeps it. */
export const queuedTaskStateQuery = wf.defineQuery<JobStatusView | null, [number]>('queuedTaskState');
/** Control of a task still queued in its array job; `started` when it has a workflow of its own now. */
export const queuedTaskControlUpdate = wf.defineUpdate<JobStatusView | 'started', [number, JobControlAction]>(
  'queuedTaskControl',
);

/** Waits until a task has a workflow of its own (or ended in the queue); false on timeout. */
export const taskStartedUpdate = wf.defineUpdate<boolean, [number, number | null]>('taskStarted');

export interface ArrayJobInfo {
  arrayJobId: string;
  session: string;
  begin: number;
  end: number;
  step: number;
  maxParallel: number;
  total: number;
  queued: number;
  held: number;
  running: number;
  done: number;
  failed: number;
}

export function taskJobId(arrayJobId: string, task: number): string {
  return `${arrayJobId}.${task}`;
}

export function taskNumbers(begin: number, end: number, step: number): number[] {
  const out: number[] = [];
  for (let t = begin; t <= end; t += step) out.push(t);
  return out;
}

/** The activity task queue of one Podman host. */
export function hostQueue(taskQueue: string, host: string): string {
  return `${taskQueue}@${host}`;
}

/** Waits for a condition, for ever when timeoutMs is null; false when the time ran out first. */
export async function waitFor(fn: () => boolean, timeoutMs: number | null): Promise<boolean> {
  if (timeoutMs === null) {
    await wf.condition(fn);
    return true;
  }
  return wf.condition(fn, timeoutMs);
}
