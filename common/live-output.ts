// Live output: what the activity that watches a running job puts in its heartbeat details, and
// callers read from Temporal's description of the job's workflow (DescribeWorkflowExecution, which
// the server answers: no worker, no history event, no Podman call). Both sides share this shape.

/** The newest bytes of one stream, at their place in it (bytes from the container's start). */
export interface OutputWindow {
  offset: number;
  /** base64 */
  data: string;
}

export interface LiveOutput {
  liveOutput: 1;
  stdout: OutputWindow;
  stderr: OutputWindow;
  /**
   * false: the windows come from Podman's log follow (a watch that could not attach from the
   * container's start), which may have skipped bytes: offsets are not places in the job's result.
   */
  exact?: false;
}

/** At most this many of the newest bytes of each stream travel in one heartbeat. */
export const LIVE_WINDOW_BYTES = 64 * 1024;

/** How often, at most, the newest output goes to Temporal while a job writes (a worker setting). */
export const DEFAULT_LIVE_INTERVAL_MS = 250;

export function isLiveOutput(x: unknown): x is LiveOutput {
  return typeof x === 'object' && x !== null && (x as LiveOutput).liveOutput === 1;
}

export type StreamName = 'stdout' | 'stderr';

/** What a reader of the windows makes of the next one: bytes it has not had, or how many it lost. */
export interface WindowNews {
  data: Buffer;
  /** Bytes between what the reader had and the window's start: written and already out of it. */
  lost: number;
}

/** The part of a window after `had` bytes of the stream, and how many bytes went by unseen. */
export function newsOf(window: OutputWindow, had: number): WindowNews {
  const bytes = Buffer.from(window.data, 'base64');
  const end = window.offset + bytes.length;
  if (end <= had) return { data: Buffer.alloc(0), lost: 0 };
  const lost = Math.max(0, window.offset - had);
  return { data: bytes.subarray(Math.max(0, had - window.offset)), lost };
}
