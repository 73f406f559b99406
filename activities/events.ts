// One Podman event stream per worker, shared by every wait. Podman 4.3 tails its events file once
// per subscriber, so a stream per watched job costs Podman CPU for every job at once; and a wait on
// an open stream is registered at once instead of first opening a request of its own.
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { DrmaaError } from '../common/errors.js';
import { containerEvents, type ContainerEvent } from './streams.js';

interface Watcher {
  onEvent(e: ContainerEvent): void;
  /** The stream broke (Podman's service went away): the wait must start again. */
  onBroken(err: Error): void;
}

export class ContainerEventHub {
  private stream?: Promise<Readable>;
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Watchers of every container's events. */
  private readonly everything = new Set<Watcher>();

  constructor(private readonly docker: Docker) {}

  /**
   * Calls `onEvent` for each event of the container from now on, until the returned stop function
   * is called; `onBroken` if the stream breaks first. Resolves once the stream is open, so that a
   * look at the container after this cannot miss an event.
   */
  watch(containerId: string, watcher: Watcher): Promise<() => void> {
    let set = this.watchers.get(containerId);
    if (!set) this.watchers.set(containerId, (set = new Set()));
    set.add(watcher);
    return this.openFor(() => {
      set.delete(watcher);
      if (set.size === 0 && this.watchers.get(containerId) === set) this.watchers.delete(containerId);
    });
  }

  /** As watch, for the events of every container. */
  watchAll(watcher: Watcher): Promise<() => void> {
    this.everything.add(watcher);
    return this.openFor(() => void this.everything.delete(watcher));
  }

  /** Opens the stream for a watcher just registered; `stop` unregisters it, also if it cannot open. */
  private async openFor(stop: () => void): Promise<() => void> {
    try {
      await this.open();
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  /** Closes the stream (the worker is stopping); waits still registered are told it broke. */
  close(): void {
    void this.stream?.then(
      (s) => s.destroy(),
      () => undefined,
    );
    this.broken(new DrmaaError('DrmCommunication', 'the event stream was closed', { retryable: true }));
  }

  private open(): Promise<Readable> {
    this.stream ??= containerEvents(this.docker, [], (e) => {
      const id = e.id ?? e.Actor?.ID;
      for (const w of (id && this.watchers.get(id)) || []) w.onEvent(e);
      for (const w of this.everything) w.onEvent(e);
    }).then(
      (s) => {
        // The stream ends only when Podman's service goes away: every wait retries, and the next
        // one opens a new stream.
        const end = (err?: Error) => {
          if (this.stream === opened) this.broken(err ?? new Error(`Podman's event stream ended`));
        };
        s.once('end', () => end());
        s.once('close', () => end());
        s.once('error', end);
        return s;
      },
      (err: unknown) => {
        this.stream = undefined;
        throw err;
      },
    );
    const opened = this.stream;
    return opened;
  }

  private broken(err: Error): void {
    this.stream = undefined;
    const all = [...this.watchers.values()].flatMap((s) => [...s]).concat([...this.everything]);
    this.watchers.clear();
    this.everything.clear();
    for (const w of all) w.onBroken(err);
  }
}

const hubs = new WeakMap<Docker, ContainerEventHub>();

/** The one hub of a Podman connection. */
export function eventHubOf(docker: Docker): ContainerEventHub {
  let hub = hubs.get(docker);
  if (!hub) hubs.set(docker, (hub = new ContainerEventHub(docker)));
  return hub;
}

/** Closes the connection's event stream, if it has one (the worker is stopping). */
export function closeEventHub(docker: Docker): void {
  hubs.get(docker)?.close();
  hubs.delete(docker);
}
