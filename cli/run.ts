// `run` as `podman run` behaves: the job's stdout and stderr live on this command's, its exit status
// this command's, SIGINT and SIGTERM passed on to it, the caller's stdin sent to it.
import type { PodmanTracker } from '../client/tracker.js';
import { MAX_STDIN_BYTES } from '../common/convert.js';
import { DrmaaError } from '../common/errors.js';
import type { JobInfo } from '../common/template.js';
import { note } from './output.js';

/** `podman run`'s own statuses: the job could not be run, its command could not be invoked, or not found. */
export const EXIT = { NOT_RUN: 125, CANNOT_INVOKE: 126, NOT_FOUND: 127 } as const;

/**
 * This command's exit status for an ended job, as `podman run` gives it: the job's own status (a job
 * killed by signal N has 128+N from Podman), or for a job that never started, why: Podman's words
 * for a command that is not there, or cannot be run, else 125.
 */
export function exitStatusOf(info: JobInfo): number {
  if (info.exitStatus !== undefined) return info.exitStatus;
  const why = info.annotation ?? '';
  if (/command that was not found|executable file not found|no such file or directory/i.test(why)) {
    return EXIT.NOT_FOUND;
  }
  if (/permission denied|is a directory|exec format error/i.test(why)) return EXIT.CANNOT_INVOKE;
  return EXIT.NOT_RUN;
}

/** Reads this command's stdin whole; more than MAX_STDIN_BYTES is InvalidArgument, before anything starts. */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_STDIN_BYTES) {
      throw new DrmaaError(
        'InvalidArgument',
        `stdin is more than ${MAX_STDIN_BYTES} bytes, the most that travels with a job: ` +
          'give the job a file on the worker host (--input) instead',
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function write(stream: NodeJS.WriteStream, data: Buffer): Promise<void> {
  if (!stream.write(data)) await new Promise((resolve) => stream.once('drain', resolve));
}

/**
 * Passes SIGINT and SIGTERM on to the job while `until` runs, as `podman run --sig-proxy` does. The
 * first one also says how to follow the job again: stopping this command does not stop the job.
 */
async function proxySignals<T>(t: PodmanTracker, id: string, until: Promise<T>): Promise<T> {
  let told = false;
  const pass = (signal: NodeJS.Signals) => {
    if (!told) note(`${signal} passed on to job ${id} (podman-tracker run --attach ${id} follows it again)`);
    told = true;
    t.signal(id, signal).catch((err: unknown) =>
      note(`${signal} not passed on: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, pass);
  try {
    return await until;
  } finally {
    for (const s of signals) process.off(s, pass);
  }
}

export interface AttachOptions {
  sigProxy: boolean;
  /** Whether the job's end gives an exit status (run), or only ends the output (logs --follow). */
  exitStatus?: boolean;
}

/** Follows the job's output until it ends; the exit status `run` gives for it. */
export async function attach(t: PodmanTracker, id: string, o: AttachOptions): Promise<number> {
  const follow = async () => {
    const result = t.result(id);
    for await (const chunk of t.output(id, { result })) {
      const stream = chunk.stream === 'stdout' ? process.stdout : process.stderr;
      if ('data' in chunk) await write(stream, chunk.data);
      else if ('note' in chunk) note(chunk.note);
      else
        note(
          `${chunk.lost} bytes of ${chunk.stream} are not shown: the job's result keeps the first MiB (use --output/--error)`,
        );
    }
    return result;
  };
  const r = await (o.sigProxy ? proxySignals(t, id, follow()) : follow());
  if (o.exitStatus === false) return 0;
  if (r.info.exitStatus === undefined) {
    note(`job ${id} did not start: ${r.info.subState}${r.info.annotation ? `: ${r.info.annotation}` : ''}`);
  }
  return exitStatusOf(r.info);
}
