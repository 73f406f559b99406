// DRMAA2 job states with the wire names of drmaa2os's remote API. Workflows import this file.
export const JOB_STATES = [
  'unset',
  'undetermined',
  'queued',
  'queuedHeld',
  'running',
  'suspended',
  'requeued',
  'requeuedHeld',
  'done',
  'failed',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const END_STATES: readonly JobState[] = ['done', 'failed'];

export function isEndState(state: JobState): boolean {
  return END_STATES.includes(state);
}

export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && (JOB_STATES as readonly string[]).includes(value);
}

export const JOB_CONTROL_ACTIONS = ['suspend', 'resume', 'hold', 'release', 'terminate'] as const;
export type JobControlAction = (typeof JOB_CONTROL_ACTIONS)[number];
