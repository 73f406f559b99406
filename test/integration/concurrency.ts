// Counts a session's running containers from Podman's own event stream.
import { containerEvents } from '../../activities/streams.js';
import { LABEL } from '../../common/convert.js';
import { podmanClient } from '../helpers.js';

export interface ConcurrencyRecorder {
  /** The most containers of the session running at one moment. */
  readonly peak: number;
  readonly starts: number;
  stop(): void;
}

export async function recordConcurrency(session: string): Promise<ConcurrencyRecorder> {
  const running = new Set<string>();
  const state = { peak: 0, starts: 0 };
  const stream = await containerEvents(podmanClient(), [`${LABEL.session}=${session}`], (e) => {
    if (e.Action === 'start') {
      running.add(e.id!);
      state.starts++;
      state.peak = Math.max(state.peak, running.size);
    } else if (e.Action === 'die' || e.Action === 'died') running.delete(e.id!);
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
