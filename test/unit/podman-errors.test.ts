// Podman's errors sorted by what the activities do with them. The exit race cannot be provoked on
// purpose (it needs an inspect to land while the process dies); the text is as Podman 4.3 sent it
// when the property test met it: "inspecting the container of job ...: read /proc/24204/cgroup:
// no such process".
import { describe, expect, it } from 'vitest';
import { isExitRace } from '../../activities/podman.js';

/** An error as docker-modem makes it from Podman's JSON answer. */
const modemError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), { statusCode, json: { message } });

describe('isExitRace', () => {
  it("knows Podman 4.3's failure to read a just-dead process's cgroup (ESRCH and ENOENT)", () => {
    expect(isExitRace(modemError(500, 'read /proc/24204/cgroup: no such process'))).toBe(true);
    expect(isExitRace(modemError(500, 'open /proc/66223/cgroup: no such file or directory'))).toBe(true);
  });
  it('takes nothing else for it', () => {
    expect(isExitRace(modemError(500, 'container state improper'))).toBe(false);
    expect(isExitRace(modemError(404, 'no such container'))).toBe(false);
    expect(isExitRace(modemError(500, 'read /proc/24204/status: no such process'))).toBe(false);
    expect(isExitRace(new Error('connect ECONNREFUSED /run/podman.sock'))).toBe(false);
  });
});
