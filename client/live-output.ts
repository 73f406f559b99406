// A job's output as it is written: the windows the watching activity heartbeats (common/live-output.ts),
// read from the server's description of the job's workflow, then the rest from the job's result.
// No worker is asked, nothing is written into the job's history, Podman is not called.
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { DEFAULT_LIVE_INTERVAL_MS, isLiveOutput, newsOf, type StreamName } from '../common/live-output.js';
import type { JobWorkflowResult } from '../workflows/job.js';

/** Bytes of one stream, in order; or, once, how many bytes of it will never be shown. */
export type OutputChunk = { stream: StreamName; data: Buffer } | { stream: StreamName; lost: number };

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
    const described = await handle.describe().catch(() => undefined); // a hiccup: look again
    if (described && described.status.name !== 'RUNNING') break;
    for (const activity of described?.raw.pendingActivities ?? []) {
      const payloads = activity.heartbeatDetails?.payloads;
      if (activity.activityType?.name !== WATCHER || !payloads?.length) continue;
      const live = await decodeFromPayloadsAtIndex(converter, 0, payloads).catch(() => undefined);
      if (!isLiveOutput(live)) continue;
      for (const stream of STREAMS) {
        if (behind.has(stream)) continue;
        const news = newsOf(live[stream], had[stream]);
        if (news.lost) behind.add(stream);
        else if (news.data.length) {
          had[stream] += news.data.length;
          yield { stream, data: news.data };
        }
      }
    }
    await pause(interval, result, options.signal);
  }
  if (options.signal?.aborted) return;

  const r = await result;
  for (const stream of STREAMS) {
    const kept = Buffer.from(r[stream], 'utf8');
    if (kept.length > had[stream]) yield { stream, data: kept.subarray(had[stream]) };
    const lost = kept.length + r[`${stream}Truncated`] - Math.max(had[stream], kept.length);
    if (lost > 0) yield { stream, lost };
  }
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
