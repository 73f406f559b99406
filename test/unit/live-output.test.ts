import { describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { followOutput, pickUp } from '../../client/live-output.js';
import { newsOf, type LiveOutput } from '../../common/live-output.js';
import { exitStatusOf } from '../../cli/run.js';

const window = (offset: number, text: string) => ({ offset, data: Buffer.from(text).toString('base64') });

describe('a reader of live output windows', () => {
  it('takes what it has not had, at its place in the stream', () => {
    expect(newsOf(window(0, 'line1\n'), 0)).toEqual({ data: Buffer.from('line1\n'), lost: 0 });
    expect(newsOf(window(0, 'line1\nline2\n'), 6)).toEqual({ data: Buffer.from('line2\n'), lost: 0 });
  });

  it('takes nothing from a window it has had (an older heartbeat seen again)', () => {
    expect(newsOf(window(0, 'line1\n'), 6)).toEqual({ data: Buffer.alloc(0), lost: 0 });
    expect(newsOf(window(0, 'line1\n'), 12).data.length).toBe(0);
  });

  it('says how many bytes went by unseen when the window starts past what it had', () => {
    expect(newsOf(window(100, 'late\n'), 40)).toEqual({ data: Buffer.from('late\n'), lost: 60 });
  });
});

describe('the exit status of `run`, as `podman run` gives it', () => {
  const ended = (exitStatus?: number, annotation?: string) => ({
    id: 'j',
    state: 'failed' as const,
    exitStatus,
    annotation,
  });
  it("is the job's own status, signals included (Podman reports 128+N)", () => {
    expect(exitStatusOf(ended(0))).toBe(0);
    expect(exitStatusOf(ended(3))).toBe(3);
    expect(exitStatusOf(ended(137))).toBe(137);
  });
  it('is 127 for a command that is not there, 126 for one that cannot be run, 125 otherwise', () => {
    const podman = (why: string) => `InvalidArgument: starting the container of job j: ${why}`;
    expect(
      exitStatusOf(
        ended(
          undefined,
          podman(
            'runc: exec: "nope": executable file not found in $PATH: OCI runtime attempted to invoke a command that was not found',
          ),
        ),
      ),
    ).toBe(127);
    expect(exitStatusOf(ended(undefined, podman('exec: "/etc": is a directory: OCI permission denied')))).toBe(126);
    expect(exitStatusOf(ended(undefined, 'DeniedByDrms: privileged containers are not granted'))).toBe(125);
    expect(exitStatusOf(ended(undefined))).toBe(125);
  });
});

describe('following a job whose watch is not exact (a log follow, after a worker restart)', () => {
  const b = (s: string) => Buffer.from(s);
  it('goes on in the result after the last line shown, found from a line’s start', () => {
    expect(pickUp(b('1\n2\n3\n4\n5\n6\n'), b(''))).toBe(0);
    expect(pickUp(b('1\n2\n3\n4\n5\n6\n'), b('1\n2\n3\n'))).toBe(6);
    // The follow skipped 3 and 4: the result goes on after 5.
    expect(pickUp(b('1\n2\n3\n4\n5\n6\n'), b('1\n2\n5\n'))).toBe(10);
    // "5" is not found in "15".
    expect(pickUp(b('13\n14\n15\n16\n'), b('9\n5\n'))).toBe(undefined);
    expect(pickUp(b('13\n14\n15\n16\n'), b('9\n15\n'))).toBe(9);
  });

  /** A client whose job's workflow shows the given heartbeats, one per describe, then closes. */
  function fakeClient(beats: LiveOutput[]) {
    const converter = { payloadConverter: defaultPayloadConverter, payloadCodecs: [], failureConverter: undefined };
    let n = 0;
    const handle = {
      async describe() {
        const beat = beats[n++];
        if (!beat) return { status: { name: 'COMPLETED' }, raw: { pendingActivities: [] } };
        const payloads = [defaultPayloadConverter.toPayload(beat)];
        return {
          status: { name: 'RUNNING' },
          raw: { pendingActivities: [{ activityType: { name: 'waitAndCollect' }, heartbeatDetails: { payloads } }] },
        };
      },
    };
    return { options: { loadedDataConverter: converter }, workflow: { getHandle: () => handle } } as unknown as Client;
  }
  const win = (offset: number, text: string) => ({ offset, data: b(text).toString('base64') });
  const result = (stdout: string) =>
    Promise.resolve({ info: { id: 'j', state: 'done' }, stdout, stderr: '', stdoutTruncated: 0, stderrTruncated: 0 });

  async function shown(client: Client, stdout: string) {
    let out = '';
    const notes: string[] = [];
    for await (const c of followOutput(
      client,
      'j',
      new Promise((r) => setTimeout(() => r(result(stdout)), 50)) as never,
      {
        intervalMs: 1,
      },
    )) {
      if ('data' in c) out += c.data.toString();
      else if ('note' in c) notes.push(c.note);
    }
    return { out, notes };
  }

  it('exact windows: the result goes on where they stopped', async () => {
    const client = fakeClient([{ liveOutput: 1, stdout: win(0, '1\n2\n'), stderr: win(0, '') }]);
    expect(await shown(client, '1\n2\n3\n')).toEqual({ out: '1\n2\n3\n', notes: [] });
  });

  it('inexact windows: says so, and neither repeats nor guesses what it shows from the result', async () => {
    const client = fakeClient([{ liveOutput: 1, stdout: win(0, '1\n2\n5\n'), stderr: win(0, ''), exact: false }]);
    const { out, notes } = await shown(client, '1\n2\n3\n4\n5\n6\n');
    expect(out).toBe('1\n2\n5\n6\n');
    expect(notes).toEqual([expect.stringMatching(/follows Podman's log, which can skip or repeat lines/)]);
  });
});
