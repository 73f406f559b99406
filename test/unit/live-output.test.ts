import { describe, expect, it } from 'vitest';
import { newsOf } from '../../common/live-output.js';
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
