// Counts a session's running containers from Podman's own event stream.
import { containerEvents, type ContainerEvent } from '../../activities/streams.js';
import { LABEL } from '../../common/convert.js';
import { podmanClient } from '../helpers.js';

export interface ConcurrencyRecorder {
  /** The most containers of the session running at one moment. */
  readonly peak: number;
  readonly starts: number;
  /** Resolves once exactly n containers of the session run; tests wait on this, not on a clock. */
  running(n: number, timeoutMs?: number): Promise<void>;
  stop(): void;
}

/** Now on Podman's clock: the stack's Podman runs on this machine. */
export const nowNs = () => Date.now() * 1e6;

export async function recordConcurrency(session: string): Promise<ConcurrencyRecorder> {
  const running = new Set<string>();
  const state = { peak: 0, starts: 0 };
  const waiters = new Set<() => void>();
  const onEvent = (e: ContainerEvent) => {
    if (e.Action === 'start') {
      running.add(e.id!);
      state.starts++;
      state.peak = Math.max(state.peak, running.size);
    } else if (e.Action === 'die' || e.Action === 'died') running.delete(e.id!);
    for (const w of waiters) w();
  };
  // Events from before now are replays of a rotated events file (earlier tests' of the same session).
  const stream = await containerEvents(podmanClient(), [`${LABEL.session}=${session}`], onEvent, nowNs());
  stream.on('error', () => undefined);
  return {
    get peak() {
      return state.peak;
    },
    get starts() {
      return state.starts;
    },
    running: (n, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (running.size !== n) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${running.size} containers running after ${timeoutMs} ms, not ${n}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    stop: () => stream.destroy(),
  };
}
