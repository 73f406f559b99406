// DRMAA2 errors as Temporal ApplicationFailures: the kind travels as the failure `type`, so an
// error thrown in an activity reaches the workflow and the client with its kind intact.
// No zod and no Node modules here: workflows import this file.
import { ApplicationFailure } from '@temporalio/common';

export const ERROR_KINDS = [
  'DeniedByDrms',
  'DrmCommunication',
  'TryLater',
  'Timeout',
  'Internal',
  'InvalidArgument',
  'InvalidSession',
  'InvalidState',
  'OutOfResource',
  'UnsupportedAttribute',
  'UnsupportedOperation',
  'ImplementationSpecific',
  'JobNotExists',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Kinds that a retry cannot fix: Temporal must not retry an activity that failed with one. */
export const NON_RETRYABLE_KINDS: readonly ErrorKind[] = [
  'DeniedByDrms',
  'InvalidArgument',
  'InvalidSession',
  'InvalidState',
  'UnsupportedAttribute',
  'UnsupportedOperation',
  'ImplementationSpecific',
  'JobNotExists',
  'OutOfResource',
  'Timeout',
];

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && (ERROR_KINDS as readonly string[]).includes(value);
}

export class DrmaaError extends ApplicationFailure {
  declare readonly type: ErrorKind;

  constructor(kind: ErrorKind, message: string, options: { retryable?: boolean; cause?: Error } = {}) {
    super(message, kind, !(options.retryable ?? !NON_RETRYABLE_KINDS.includes(kind)), undefined, options.cause);
  }

  get kind(): ErrorKind {
    return this.type;
  }

  override toString(): string {
    return `${this.kind}: ${this.message}`;
  }

  /** Finds the DRMAA2 error in a chain of Temporal failures (activity -> workflow -> client). */
  static find(err: unknown): DrmaaError | undefined {
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
      if (e instanceof DrmaaError) return e;
      if (e instanceof ApplicationFailure && isErrorKind(e.type)) {
        return new DrmaaError(e.type, e.message, { retryable: !e.nonRetryable });
      }
    }
    return undefined;
  }
}

export const invalidArgument = (message: string) => new DrmaaError('InvalidArgument', message);
export const invalidState = (message: string) => new DrmaaError('InvalidState', message);
export const unsupportedAttribute = (message: string) => new DrmaaError('UnsupportedAttribute', message);
export const unsupportedOperation = (message: string) => new DrmaaError('UnsupportedOperation', message);
export const jobNotExists = (jobId: string) => new DrmaaError('JobNotExists', `job ${jobId} does not exist`);
