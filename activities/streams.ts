// Streams to and from a container: stdin from a host file, stdout/stderr demultiplexed (bounded
// in memory, or whole into host files), and the container's events.
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { mkdir, open as openFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Socket } from 'node:net';
import type Docker from 'dockerode';
import { DrmaaError } from '../common/errors.js';

/** The modem's connection settings, which dockerode's typings keep private. */
interface ModemSettings {
  socketPath?: string;
  host?: string;
  port?: number | string;
  agent?: http.Agent;
  demuxStream(stream: Readable, stdout: Writable, stderr: Writable): void;
  dial(options: object, callback: (err: Error | null, stream: Readable) => void): void;
}

function modemOf(docker: Docker): ModemSettings {
  return docker.modem as unknown as ModemSettings;
}

/**
 * Opens a hijacked attach to the container's stdin. dockerode's attach sends its options as a JSON
 * body, which Podman passes on as stdin, and sends no headers until the first write; so this
 * speaks the upgrade itself over the modem's own transport.
 */
export function attachStdin(docker: Docker, containerId: string): Promise<Socket> {
  return hijack(docker, containerId, 'stdin=1&stdout=0&stderr=0');
}

/**
 * Attaches to the container's stdout and stderr as they are written (Podman's multiplexed stream,
 * for `demux`), from conmon itself: every byte, in order. Attached before the start, it has them
 * all from the first; Podman's log follow skips whole stretches when it reads a record that is
 * still being written (Podman 4.3, k8s-file), and is no source of live output to count bytes by.
 */
export function attachOutput(docker: Docker, containerId: string): Promise<Socket> {
  return hijack(docker, containerId, 'stdin=0&stdout=1&stderr=1');
}

function hijack(docker: Docker, containerId: string, streams: string): Promise<Socket> {
  const m = modemOf(docker);
  return new Promise((resolve, reject) => {
    const req = http.request({
      ...(m.socketPath ? { socketPath: m.socketPath } : { host: m.host, port: m.port }),
      agent: m.agent,
      method: 'POST',
      path: `/containers/${encodeURIComponent(containerId)}/attach?stream=1&${streams}`,
      headers: { Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Length': 0 },
    });
    req.on('upgrade', (_res, socket, head: Buffer) => {
      // Bytes that came with the upgrade's answer are the stream's first.
      if (head.length) socket.unshift(head);
      // Until the feed starts, nothing else listens: an error then (the job or Podman gone) must not
      // be an uncaught 'error' event. The socket keeps it, and the feed's pipeline reports it.
      socket.on('error', () => undefined);
      resolve(socket as Socket);
    });
    req.on('response', (res) => {
      res.resume();
      reject(Object.assign(new Error(`attach refused with HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Feeds a host file (or the caller's bytes) to an attached stdin and closes it: the job sees end of input. */
export async function feedStdin(socket: Socket, input: string | Buffer): Promise<void> {
  try {
    await pipeline(typeof input === 'string' ? createReadStream(input) : Readable.from([input]), socket);
  } catch (err) {
    // The job may exit without reading all of its input: that is its business, not an error.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE' && (err as NodeJS.ErrnoException).code !== 'ECONNRESET') {
      throw err;
    }
  }
}

/** The container's log as Podman's multiplexed stream; with `follow`, open until the container stops. */
export function rawLogs(
  docker: Docker,
  containerId: string,
  stdout: boolean,
  stderr: boolean,
  follow = false,
): Promise<Readable> {
  return new Promise((resolve, reject) =>
    modemOf(docker).dial(
      {
        path: `/containers/${encodeURIComponent(containerId)}/logs?`,
        method: 'GET',
        isStream: true,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options: { stdout, stderr, follow },
      },
      (err, stream) => (err ? reject(err) : resolve(stream)),
    ),
  );
}

/** Splits Podman's multiplexed log stream into stdout and stderr. */
export function demux(docker: Docker, stream: Readable, stdout: Writable, stderr: Writable): void {
  modemOf(docker).demuxStream(stream, stdout, stderr);
}

/** Collects at most `limit` bytes and counts the rest. */
class BoundedSink extends Writable {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const room = this.limit - this.kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface JobOutput {
  stdout: string;
  stderr: string;
  /** Bytes left out of each stream once the limit was reached. */
  stdoutTruncated: number;
  stderrTruncated: number;
}

/** The job's stdout and stderr, apart, each bounded to `limit` bytes (the head is kept). */
export async function readLogs(docker: Docker, containerId: string, limit: number): Promise<JobOutput> {
  const stream = await rawLogs(docker, containerId, true, true);
  const out = new BoundedSink(limit);
  const err = new BoundedSink(limit);
  modemOf(docker).demuxStream(stream, out, err);
  await finished(stream);
  return { stdout: out.text(), stderr: err.text(), stdoutTruncated: out.dropped, stderrTruncated: err.dropped };
}

/**
 * Writes the job's output to host files: stdout to `outputPath`, stderr to `errorPath`, or both
 * to `outputPath` in their original order when joined. Rewrites whole files, so a retry is harmless.
 */
export async function writeOutputFiles(
  docker: Docker,
  containerId: string,
  files: { outputPath?: string; errorPath?: string; joinFiles?: boolean },
): Promise<void> {
  const outPath = files.outputPath;
  const errPath = files.joinFiles ? files.outputPath : files.errorPath;
  if (!outPath && !errPath) return;
  // Opened before the logs are read, so a path that cannot be written rejects here: a write
  // stream left to open by itself reports that as an 'error' event nobody listens to.
  const opened: Writable[] = [];
  const open = async (path: string) => {
    try {
      await makeParentDirs(path);
      const file = (await openFile(path, 'w')).createWriteStream();
      opened.push(file);
      return file;
    } catch (err) {
      // Retrying cannot make a directory writable, or a path a file.
      throw new DrmaaError(
        'InvalidArgument',
        `${path} cannot be written on the worker's host: ${(err as Error).message}`,
      );
    }
  };
  // A write that fails later (a full disk) names its file: ENOSPC is OutOfResource, so the caller
  // can keep the container (and the output) instead of retrying for ever.
  const writeFailed = (path: string, e: NodeJS.ErrnoException) =>
    new DrmaaError(
      e.code === 'ENOSPC' ? 'OutOfResource' : 'InvalidArgument',
      `writing output file ${path} on the worker's host: ${e.message}`,
    );
  const paths = new Map<Writable, string>();
  try {
    const out = outPath ? await open(outPath) : null;
    if (out) paths.set(out, outPath!);
    const err = errPath === outPath ? out : errPath ? await open(errPath) : null;
    if (err && err !== out) paths.set(err, errPath!);
    const discard = () => new Writable({ write: (_c, _e, done) => done() });
    const stream = await rawLogs(docker, containerId, out !== null, err !== null);
    const failed = new Promise<never>((_, reject) =>
      opened.forEach((f) => f.once('error', (e: NodeJS.ErrnoException) => reject(writeFailed(paths.get(f)!, e)))),
    );
    failed.catch(() => undefined); // one that fails after the race is over has nobody to tell
    modemOf(docker).demuxStream(stream, out ?? discard(), err ?? discard());
    await Promise.race([finished(stream), failed]);
    const closed = opened.map((f) =>
      closeStream(f).catch((e: NodeJS.ErrnoException) => {
        throw writeFailed(paths.get(f)!, e);
      }),
    );
    await Promise.race([Promise.all(closed), failed]);
  } finally {
    for (const f of opened) if (!f.closed) f.destroy();
  }
}

/**
 * Makes the missing directories above a file. Not fs.mkdir's `recursive`: for a path under /proc
 * (where nothing can be made) it loops for ever, holding one of libuv's few threads.
 */
export async function makeParentDirs(file: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      if ((await stat(dir)).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, '${dir}'`), { code: 'ENOTDIR' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dir === dirname(dir)) throw err;
      missing.unshift(dir);
    }
  }
  for (const dir of missing) {
    await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err; // made meanwhile by another job: fine
    });
  }
}

/**
 * Ends a file's stream and answers once it is flushed, or with the error that stopped it. A file
 * stream whose write failed (ENOSPC) is destroyed at once but tells its 'error' only after the
 * file is closed; ended in between, Node answers ERR_STREAM_DESTROYED, so the write's own error
 * (kept in `errored`) is the one answered.
 */
export function closeStream(s: Writable): Promise<void> {
  return new Promise((resolve, reject) =>
    s.end((e?: Error | null) => (e || s.errored ? reject(s.errored ?? e) : resolve())),
  );
}

export interface ContainerEvent {
  Action: string;
  id?: string;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Recent events remembered, to know a repeat when Podman sends one again. */
const REMEMBERED_EVENTS = 4096;

/**
 * Subscribes to container events: of the containers with all the given labels, or of all. Podman 4.3
 * names the die filter "died" where Docker says "die", so the choice of actions is the caller's.
 * Podman 4.3 also sends events again when it rotates its events file: one container, action and
 * nanosecond is passed on once, and with `sinceNs` (a time on Podman's clock) nothing older is: a
 * rotation also replays events from before the subscription, which the stream never sent.
 */
export async function containerEvents(
  docker: Docker,
  labels: string[],
  onEvent: (e: ContainerEvent) => void,
  sinceNs?: number,
): Promise<Readable> {
  const filters = labels.length ? { type: ['container'], label: labels } : { type: ['container'] };
  const stream = (await docker.getEvents({ filters: JSON.stringify(filters) })) as unknown as Readable;
  const seen = new Set<string>();
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const e = JSON.parse(line) as ContainerEvent;
      if (e.timeNano !== undefined) {
        if (sinceNs !== undefined && e.timeNano < sinceNs) continue;
        const key = `${e.id ?? e.Actor?.ID} ${e.Action} ${e.timeNano}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (seen.size > REMEMBERED_EVENTS) seen.delete(seen.values().next().value!);
      }
      onEvent(e);
    }
  });
  return stream;
}
