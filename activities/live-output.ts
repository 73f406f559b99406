// Live output of a running job (common/live-output.ts): the activity that watches the job follows
// the container's log and sends the newest bytes of each stream as its heartbeat details, at most
// every `intervalMs` and only when there are new ones. One log request per run of the container,
// however long it streams; nothing goes into the job's history.
import { Context, log } from '@temporalio/activity';
import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { LIVE_WINDOW_BYTES, type LiveOutput, type OutputWindow } from '../common/live-output.js';
import { demux, rawLogs } from './streams.js';

/** The newest LIVE_WINDOW_BYTES of a stream; a log opened again skips what was seen before. */
class StreamWindow extends Writable {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes of the stream seen, across every time the log was opened. */
  total = 0;
  private skip = 0;

  constructor(private readonly onData: () => void) {
    super();
  }

  /** Before the log is read again from its start: what was seen is skipped. */
  reopen(): void {
    this.skip = this.total;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const fresh = chunk.subarray(Math.min(this.skip, chunk.length));
    this.skip -= chunk.length - fresh.length;
    if (fresh.length) {
      this.chunks.push(fresh);
      this.kept += fresh.length;
      this.total += fresh.length;
      while (this.kept - this.chunks[0]!.length >= LIVE_WINDOW_BYTES) this.kept -= this.chunks.shift()!.length;
      this.onData();
    }
    done();
  }

  view(): OutputWindow {
    const data = Buffer.concat(this.chunks);
    const tail = data.subarray(Math.max(0, data.length - LIVE_WINDOW_BYTES));
    return { offset: this.total - tail.length, data: tail.toString('base64') };
  }
}

export interface LiveOutputFollower {
  /** The windows as they are now: every heartbeat of the activity carries them. */
  current(): LiveOutput;
  stop(): void;
}

/** How long a log that ended waits before it is opened again (a restart, or Podman back). */
const REOPEN_MS = 1000;

/**
 * Follows the container's log until stopped, sending the windows as heartbeat details. Best effort:
 * a log that cannot be read is opened again, and never fails the activity.
 */
export function followLiveOutput(docker: Docker, containerId: string, intervalMs: number): LiveOutputFollower {
  const ctx = Context.current();
  // A test's mock activity environment may have no client: the windows are kept, and go nowhere.
  let client: Context['client'] | undefined;
  try {
    client = ctx.client;
  } catch {
    client = undefined;
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastSent = 0;
  const current = (): LiveOutput => ({ liveOutput: 1, stdout: out.view(), stderr: err.view() });
  const send = () => {
    timer = undefined;
    lastSent = Date.now();
    // Through the worker's client, as an outside heartbeat: the SDK's own heartbeats are throttled
    // to most of the heartbeat timeout, far too slow for output someone watches.
    client?.activity.heartbeat(ctx.info.taskToken, current()).catch(() => undefined);
  };
  const onData = () => {
    if (stopped || timer) return;
    timer = setTimeout(send, Math.max(0, lastSent + intervalMs - Date.now()));
  };
  const out = new StreamWindow(onData);
  const err = new StreamWindow(onData);
  let stopFollowing = () => undefined as void;

  void (async () => {
    while (!stopped) {
      try {
        const stream = await rawLogs(docker, containerId, true, true, true);
        if (stopped) {
          stream.destroy();
          break;
        }
        stopFollowing = () => stream.destroy();
        demux(docker, stream, out, err);
        await finished(stream).catch(() => undefined);
      } catch (e) {
        log.debug('live output: the log cannot be followed now', { containerId, error: String(e) });
      }
      if (stopped) break;
      await new Promise((r) => setTimeout(r, REOPEN_MS));
      out.reopen();
      err.reopen();
    }
  })();

  return {
    current,
    stop() {
      stopped = true;
      // What came last goes now: a caller may see it before the job's result.
      if (timer) {
        clearTimeout(timer);
        send();
      }
      stopFollowing();
    },
  };
}
