// Live output of a running job (common/live-output.ts): the activity that watches the job sends the
// newest bytes of each stream as its heartbeat details, at most every `intervalMs` and only when
// there are new ones; nothing goes into the job's history. The bytes come from an attach to the
// container made before it started (captureOutput), which has every byte from the first, counted
// exactly: one request per job, however long it writes. A watch without one (a worker that started
// after the job did) follows Podman's log instead, whose counts may be short (see attachOutput), and
// says so.
import { Context, log } from '@temporalio/activity';
import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { LIVE_WINDOW_BYTES, type LiveOutput, type OutputWindow } from '../common/live-output.js';
import { attachOutput, demux, rawLogs } from './streams.js';

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

/** A container's output as an attach of this worker process has it, from the container's start. */
interface Capture {
  out: StreamWindow;
  err: StreamWindow;
  listeners: Set<() => void>;
}

const captures = new Map<string, Capture>();

/**
 * Attaches to the container's output before it starts (the caller starts it next), so that this
 * process's watch of the job has every byte from the first. Best effort: without it the watch
 * follows Podman's log. The capture ends with the container, or with `stop` when the start failed.
 */
export async function captureOutput(docker: Docker, containerId: string): Promise<{ stop(): void }> {
  const none = { stop: () => undefined };
  if (captures.has(containerId)) return none;
  let socket;
  try {
    socket = await attachOutput(docker, containerId);
  } catch (e) {
    log.debug('live output: no attach to the container', { containerId, error: String(e) });
    return none;
  }
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  const capture: Capture = { out: new StreamWindow(notify), err: new StreamWindow(notify), listeners };
  captures.set(containerId, capture);
  demux(docker, socket, capture.out, capture.err);
  socket.once('close', () => {
    if (captures.get(containerId) === capture) captures.delete(containerId);
  });
  return { stop: () => socket.destroy() };
}

/** How long a log that ended waits before it is opened again (a restart, or Podman back). */
const REOPEN_MS = 1000;

/**
 * Sends the windows as heartbeat details until stopped: this process's capture of the container's
 * output when it has one, else Podman's log, followed (and opened again when it ends early).
 * Best effort: output that cannot be read never fails the activity.
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
  // The windows: the capture's, or the follow's below.
  let current: () => LiveOutput;
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
  const finish = () => {
    stopped = true;
    // What came last goes now: a caller may see it before the job's result.
    if (timer) {
      clearTimeout(timer);
      send();
    }
  };

  const capture = captures.get(containerId);
  if (capture) {
    capture.listeners.add(onData);
    current = () => ({ liveOutput: 1, stdout: capture.out.view(), stderr: capture.err.view() });
    if (capture.out.total + capture.err.total > 0) onData(); // written before this watch began
    return {
      current,
      stop() {
        capture.listeners.delete(onData);
        finish();
      },
    };
  }

  const out = new StreamWindow(onData);
  const err = new StreamWindow(onData);
  current = () => ({ liveOutput: 1, stdout: out.view(), stderr: err.view(), exact: false });
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
      finish();
      stopFollowing();
    },
  };
}
