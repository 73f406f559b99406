// Counts a session's running containers from Podman's own event stream.
import type { Readable } from 'node:stream';
import { podmanClient } from '../helpers.js';

export interface ConcurrencyRecorder {
  /** The most containers of the session running at one moment. */
  readonly peak: number;
  readonly starts: number;
  stop(): void;
}

export async function recordConcurrency(session: string): Promise<ConcurrencyRecorder> {
  const docker = podmanClient();
  const stream = (await docker.getEvents({
    filters: JSON.stringify({ type: ['container'], label: [`podman-tracker.session=${session}`] }),
  })) as unknown as Readable;
  const running = new Set<string>();
  const state = { peak: 0, starts: 0 };
  // Podman 4.3 repeats events on the stream when it rotates its events file: each counts once.
  const seen = new Set<string>();
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const e = JSON.parse(line) as { Action: string; id: string; timeNano?: number };
      const key = `${e.id} ${e.Action} ${e.timeNano}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (e.Action === 'start') {
        running.add(e.id);
        state.starts++;
        state.peak = Math.max(state.peak, running.size);
      } else if (e.Action === 'die' || e.Action === 'died') running.delete(e.id);
    }
  });
  stream.on('error', () => undefined);
  return {
    get peak() {
      return state.peak;
    },
    get starts() {
      return state.starts;
    },
    stop: () => stream.destroy(),
  };
}
