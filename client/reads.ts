// Reading jobs with as little of a worker as possible. The server answers by itself what it keeps:
// whether a workflow exists and has closed (describe), how it ended (its result, by long poll) and
// what it was started with (its first history event). Only a running job's state needs a query,
// which a worker answers; a query that no worker could answer yet is asked again.
import {
  isGrpcServiceError,
  QueryNotRegisteredError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  type QueryDefinition,
} from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import proto from '@temporalio/proto'; // CommonJS: Node's ESM loader sees no named exports in it
import { DrmaaError, jobNotExists } from '../common/errors.js';
import type { JobState } from '../common/states.js';
import type { JobInfo } from '../common/template.js';
import { RUN_AHEAD_REFUSED } from '../workflows/interceptors.js';

export interface Described {
  type: string;
  /** RUNNING, COMPLETED, FAILED, TERMINATED, ... (Temporal's names). */
  status: string;
  /** Whether a workflow task waited for a worker (scheduled, not started) when it was described. */
  taskWaiting?: boolean;
}

/** How a job or array job ended: its result, or (a workflow ended in Temporal by hand) a failure. */
export type Ending<R> = { result: R } | { state: JobState; subState: string; annotation: string };

/** How long a read waits for a worker to answer its query, when the caller set no time. */
export const QUERY_PATIENCE_MS = 60_000;

/** gRPC status codes Temporal answers with. */
export const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** How often an update the server rejected as unprocessed is sent again. */
const UNPROCESSED_ATTEMPTS = 5;

/**
 * Sends an update again when the server rejected it as `UnprocessedUpdate`: a worker completed the
 * workflow task that carried it without answering it (the SDK dropped the task it was buffered with;
 * README, "Determinism and the Temporal SDK"). It was never accepted, so nothing of it happened.
 */
export async function unlessUnprocessed<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const unprocessed =
        err instanceof WorkflowUpdateFailedError &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === 'UnprocessedUpdate';
      if (!unprocessed || attempt >= UNPROCESSED_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

const grpcOf = (err: unknown) => [err, (err as Error | undefined)?.cause].find(isGrpcServiceError);

export class WorkflowReads {
  constructor(private readonly client: Client) {}

  handle(id: string): WorkflowHandle {
    return this.client.workflow.getHandle(id);
  }

  /** The server's own record of the workflow; undefined when there is none. */
  async describe(id: string): Promise<Described | undefined> {
    try {
      const d = await this.handle(id).describe();
      return { type: d.type, status: d.status.name, taskWaiting: waitsForWorker(d.raw) };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw DrmaaError.find(err) ?? err;
    }
  }

  /**
   * How the workflow ended, waiting for it (by the server's long poll: nothing is written into its
   * history and no worker is needed) until the deadline, if any. A deadline passed is a Timeout.
   */
  async ending<R>(id: string, deadline?: number): Promise<Ending<R>> {
    const wait = () => this.handle(id).result() as Promise<R>;
    let failingSince: number | undefined;
    for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
      try {
        return { result: await (deadline === undefined ? wait() : this.client.withDeadline(deadline, wait)) };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw jobNotExists(id);
        if (deadline !== undefined && Date.now() >= deadline && isDeadline(err)) {
          throw new DrmaaError('Timeout', `job ${id} had not ended when the time ran out`);
        }
        if (err instanceof WorkflowFailedError) return endedInTemporal(err);
        // A long poll that Temporal broke off (restarting, overloaded, a stream reset) is asked
        // again, within the caller's time and for at most QUERY_PATIENCE_MS of failures in a row.
        failingSince ??= Date.now();
        const until = Math.min(deadline ?? Infinity, failingSince + QUERY_PATIENCE_MS);
        if (!isTransient(err) || Date.now() + pause >= until) throw DrmaaError.find(err) ?? err;
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /** The first argument the workflow's current run was started with: its first history event. */
  async startInput<T>(id: string): Promise<T> {
    const { workflowService, options } = this.client;
    let first;
    try {
      const page = await workflowService.getWorkflowExecutionHistory({
        namespace: options.namespace,
        execution: { workflowId: id },
        maximumPageSize: 1,
      });
      first = page.history?.events?.[0];
    } catch (err) {
      if (grpcOf(err)?.code === GRPC.NOT_FOUND) throw jobNotExists(id);
      throw err;
    }
    const payloads = first?.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (!payloads) throw jobNotExists(id);
    const [input] = await decodeArrayFromPayloads(options.loadedDataConverter, payloads);
    return input as T;
  }

  /**
   * Waits (within the deadline) while a workflow task of the workflow waits for a worker (scheduled,
   * not started: its worker killed, the next not there yet). A query sent then waits on a task queue
   * and reaches the next worker beside that task, where Temporal's SDK 1.24 mishandles the pair: it
   * runs the workflow on the task's events inside the query; refused for that, the run is evicted and
   * the task dropped. A task a worker has started takes the query with it. See README, "Determinism
   * and the Temporal SDK".
   */
  private async noTaskWaiting(id: string, deadline: number): Promise<void> {
    for (let pause = 50; Date.now() + pause < deadline; pause = Math.min(pause * 2, 1000)) {
      const d = await this.handle(id)
        .describe()
        .catch(() => undefined);
      if (!d || !waitsForWorker(d.raw)) return;
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /**
   * A query, asked again while no worker could answer it yet (none polling in time, or one that had
   * to refuse: see workflows/interceptors.ts), until the deadline.
   */
  async query<R, A extends unknown[]>(
    id: string,
    def: QueryDefinition<R, A>,
    args: A,
    deadline = Date.now() + QUERY_PATIENCE_MS,
    /** The caller's description of the workflow, just made: the first ask needs no other. */
    known?: Described,
  ): Promise<R> {
    for (let pause = 100, first = true; ; pause = Math.min(pause * 2, 2000), first = false) {
      try {
        if (!first || known?.taskWaiting !== false) await this.noTaskWaiting(id, deadline);
        return await this.handle(id).query(def, ...args);
      } catch (err) {
        if (!isWorkerBusy(err) || Date.now() + pause >= deadline) {
          if (isWorkerBusy(err)) {
            throw new DrmaaError('DrmCommunication', `no worker answered about job ${id} in time: ${String(err)}`, {
              retryable: true,
            });
          }
          throw err;
        }
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** A query that a worker could not answer yet, as opposed to one it answered with an error. */
export function isWorkerBusy(err: unknown): boolean {
  if (err instanceof QueryNotRegisteredError) return err.message.includes(RUN_AHEAD_REFUSED);
  const code = grpcOf(err)?.code;
  return code === GRPC.DEADLINE_EXCEEDED || code === GRPC.FAILED_PRECONDITION || code === GRPC.UNAVAILABLE;
}

/** A workflow task scheduled and not yet started by a worker. */
function waitsForWorker(raw: { pendingWorkflowTask?: { state?: number | null } | null }): boolean {
  const state = raw.pendingWorkflowTask?.state;
  return state === proto.temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED;
}

/** Codes of a call that Temporal broke off rather than answered: the same call may succeed again. */
const TRANSIENT: readonly number[] = [
  GRPC.CANCELLED,
  GRPC.UNKNOWN,
  GRPC.DEADLINE_EXCEEDED,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.ABORTED,
  GRPC.INTERNAL,
  GRPC.UNAVAILABLE,
];

function isTransient(err: unknown): boolean {
  const code = grpcOf(err)?.code;
  return code !== undefined && TRANSIENT.includes(code);
}

function isDeadline(err: unknown): boolean {
  return grpcOf(err)?.code === GRPC.DEADLINE_EXCEEDED || (err as Error | undefined)?.name === 'AbortError';
}

/** Temporal out of reach (down, restarting, overloaded): a retryable DRMAA2 error, not gRPC's. */
export function unreachable(err: unknown, what: string): DrmaaError | undefined {
  const grpc = grpcOf(err);
  const reason = `${what}: Temporal did not answer: ${grpc?.details || grpc?.message}`;
  switch (grpc?.code) {
    case GRPC.CANCELLED:
    case GRPC.ABORTED:
    case GRPC.UNKNOWN:
    case GRPC.DEADLINE_EXCEEDED:
    case GRPC.INTERNAL:
    case GRPC.UNAVAILABLE:
      return new DrmaaError('DrmCommunication', reason, { retryable: true });
    case GRPC.RESOURCE_EXHAUSTED:
      return new DrmaaError('TryLater', reason, { retryable: true });
    default:
      return undefined;
  }
}

/** A workflow terminated, timed out or cancelled in Temporal itself (not by job control). */
function endedInTemporal(err: WorkflowFailedError): Ending<never> {
  const cause = err.cause;
  const subState =
    cause instanceof TerminatedFailure
      ? 'terminated'
      : cause instanceof TimeoutFailure
        ? 'timedOut'
        : cause instanceof CancelledFailure
          ? 'cancelled'
          : 'failed';
  return { state: 'failed', subState, annotation: `its workflow ended in Temporal: ${cause?.message ?? err.message}` };
}

/** The JobInfo of a workflow that ended in Temporal by hand, for a caller that has only its ID. */
export function infoOfEnding(id: string, e: Exclude<Ending<unknown>, { result: unknown }>): JobInfo {
  return { id, state: e.state, subState: e.subState, annotation: e.annotation };
}
