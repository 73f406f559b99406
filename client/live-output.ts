// A job's output as it is written: the windows the watching activity heartbeats (common/live-output.ts),
// read from the server's description of the job's workflow, then the rest from the job's result.
// No worker is asked, nothing is written into the job's history, Podman is not called.
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { DEFAULT_LIVE_INTERVAL_MS, isLiveOutput, newsOf, type StreamName } from '../common/live-output.js';
import type { JobWorkflowResult } from '../workflows/job.js';

/**
 * Bytes of one stream, in order; or, once, how many bytes of it will never be shown; or a word on
 * what may be missing (the output became inexact: see `LiveOutput.exact`).
 */
export type OutputChunk =
  { stream: StreamName; data: Buffer } | { stream: StreamName; lost: number } | { stream: StreamName; note: string };

export interface FollowOptions {
  /** How often the job's workflow is described while it runs (default 250 ms). */
  intervalMs?: number;
  /** Stops following; the iteration then ends. */
  signal?: AbortSignal;
}

const STREAMS: readonly StreamName[] = ['stdout', 'stderr'];
const WATCHER = 'waitAndCollect';

/**
 * Yields the job's output as it is written, then whatever of it the job's result holds that was
 * not yielded (all of it when nothing was live: a job of a few hundred milliseconds, or a worker
 * with live output off). A stream whose live windows skipped bytes (written faster than they were
 * read, or while a killed worker's activity waited to be retried) goes on from the result, in
 * order; bytes that not even the result holds (it keeps the first MiB) are told as `lost`.
 */
export async function* followOutput(
  client: Client,
  jobId: string,
  result: Promise<JobWorkflowResult>,
  options: FollowOptions = {},
): AsyncGenerator<OutputChunk> {
  const interval = options.intervalMs ?? DEFAULT_LIVE_INTERVAL_MS;
  const had: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  /** The last bytes yielded of each stream: where an inexact stream picks up in the result. */
  const tail: Record<StreamName, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  /** Windows from a log follow (a watch that could not attach from the start): its offsets fall short where it skipped. */
  let inexact = false;
  /** Streams that skipped bytes: they wait for the result, so that their order holds. */
  const behind = new Set<StreamName>();
  let ended = false;
  void result.then(
    () => (ended = true),
    () => (ended = true),
  );
  const converter = client.options.loadedDataConverter;
  const handle = client.workflow.getHandle(jobId);

  while (!ended && !options.signal?.aborted) {
    // A look after each interval, not at once: a job that ends within it (a short function call)
    // costs no description, and the first window comes no later than the watch sends it.
    await pause(interval, result, options.signal);
    if (ended || options.signal?.aborted) break;
    const described = await handle.describe().catch(() => undefined); // a hiccup: look again
    if (described && described.status.name !== 'RUNNING') break;
    for (const activity of described?.raw.pendingActivities ?? []) {
      const payloads = activity.heartbeatDetails?.payloads;
      if (activity.activityType?.name !== WATCHER || !payloads?.length) continue;
      const live = await decodeFromPayloadsAtIndex(converter, 0, payloads).catch(() => undefined);
      if (!isLiveOutput(live)) continue;
      if (live.exact === false && !inexact) {
        // The follow counts from the log's start, as the capture did, but falls short where it skips:
        // the offsets are kept (a skip then drops bytes, never repeats them), and the result is
        // picked up after the last line shown, found by its content.
        inexact = true;
        yield {
          stream: 'stderr',
          note: `the worker now watching job ${jobId} follows Podman's log, which can skip or repeat lines; its result has them whole (logs ${jobId})`,
        };
      }
      for (const stream of STREAMS) {
        if (behind.has(stream)) continue;
        const news = newsOf(live[stream], had[stream]);
        if (news.lost) behind.add(stream);
        else if (news.data.length) {
          had[stream] += news.data.length;
          tail[stream] = Buffer.concat([tail[stream], news.data]).subarray(-RESYNC_BYTES);
          yield { stream, data: news.data };
        }
      }
    }
  }
  if (options.signal?.aborted) return;

  const r = await result;
  for (const stream of STREAMS) {
    const kept = Buffer.from(r[stream], 'utf8');
    const from = inexact ? pickUp(kept, tail[stream]) : had[stream];
    if (from === undefined) {
      // What was shown last is not in the result: nothing is repeated, and the rest is not guessed.
      yield { stream, note: `the rest of ${stream} is not shown: it could not be matched with the job's result` };
      continue;
    }
    if (kept.length > from) yield { stream, data: kept.subarray(from) };
    const lost = kept.length + r[`${stream}Truncated`] - Math.max(from, kept.length);
    if (lost > 0) yield { stream, lost };
  }
}

/** How many of the last bytes shown an inexact stream looks for in the result. */
const RESYNC_BYTES = 256;

/**
 * Where the result goes on after what an inexact stream showed: after the last place in it of the
 * longest end of what was shown, from a line's start (0 when nothing was shown); undefined when not
 * even the last line shown is in it. A follow that skipped lines shows ends the result does not have.
 */
export function pickUp(kept: Buffer, shown: Buffer): number | undefined {
  if (!shown.length) return 0;
  for (let start = 0; start < shown.length;) {
    // From a line's start: with the newline before it, so that "5" is not found in "15".
    const end = shown.subarray(Math.max(0, start - 1));
    const at = kept.lastIndexOf(end);
    if (at >= 0) return at + end.length;
    const nl = shown.indexOf(10, start);
    if (nl < 0 || nl >= shown.length - 1) break;
    start = nl + 1;
  }
  return undefined;
}

/** Waits `ms`, or less when the job ends or the caller stops. */
function pause(ms: number, ended: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
    ended.then(done, done);
  });
}
