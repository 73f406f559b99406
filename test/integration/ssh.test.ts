// ssh:// Podman connections against a real OpenSSH server (started here, on 127.0.0.1) that
// forwards to the stack's Podman socket: jobs, host keys, logins, and a dropped connection.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import proto from '@temporalio/proto'; // CommonJS: no named exports under Node's ESM loader
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, disconnect, type SshOptions } from '../../activities/podman.js';
import { parseConnectionUri } from '../../common/connection.js';
import { LABEL } from '../../common/convert.js';
import { DrmaaError } from '../../common/errors.js';
import { createWorker } from '../../worker/worker.js';
import { endByTerm, podman, podmanInspect, requireEnv, sessionContainers, stack, untilTerm } from '../helpers.js';
import { containerOf, eventually, startTracker, type TrackerFixture } from './fixtures.js';
import { startSshd, type Sshd } from './sshd.js';

const run = promisify(execFile);

let sshd: Sshd;
let uri: string;
let f: TrackerFixture | undefined;

/** A known_hosts file in the server's dir, with the given lines (or none at all). */
async function knownHosts(name: string, ...lines: string[]): Promise<string> {
  const file = join(sshd.dir, name);
  if (lines.length) await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** What createWorker (which asks Podman its name first) refuses the connection with. */
async function refusal(ssh: SshOptions): Promise<DrmaaError> {
  const err = await createWorker({
    podmanUri: uri,
    temporal: { address: requireEnv('TEMPORAL_ADDRESS'), namespace: 'default' },
    taskQueue: 'ssh-never-used',
    disableImagePull: false,
    shutdownGraceMs: 1000,
    ssh,
  }).then(
    () => new Error('the worker started'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DrmaaError);
  return err as DrmaaError;
}

async function jobContainers(jobId: string): Promise<string[]> {
  const out = await podman('ps', '-a', '--filter', `label=${LABEL.job}=${jobId}`, '--format', '{{.ID}}');
  return out.split('\n').filter(Boolean);
}

beforeAll(async () => {
  sshd = await startSshd();
  const socket = parseConnectionUri(stack.containerHost);
  if (socket.scheme !== 'unix')
    throw new Error(`CONTAINER_HOST must be the stack's unix socket, not ${stack.containerHost}`);
  uri = `ssh://root@127.0.0.1:${sshd.port}${socket.socketPath}`;
  f = await startTracker('ssh', {
    podmanUri: uri,
    ssh: { knownHostsFile: await knownHosts('known_hosts', sshd.knownHostsLine), identityFile: sshd.clientKey },
  });
});

afterAll(async () => {
  await f?.close();
  await sshd?.stop();
});

describe('ssh:// Podman connections', () => {
  it('streams a running job’s output live from the remote Podman, and takes the caller’s stdin', async () => {
    const { tracker } = f!;
    const id = await tracker.addJob(
      {
        jobCategory: stack.testImage,
        remoteCommand: 'sh',
        args: ['-c', 'read x; for i in 1 2 3; do echo $x$i; sleep 1; done'],
      },
      { stdin: 'remote\n' },
    );
    const seen: Array<{ at: number; text: string }> = [];
    const t0 = performance.now();
    for await (const chunk of tracker.output(id)) {
      if ('data' in chunk && chunk.stream === 'stdout')
        seen.push({ at: performance.now() - t0, text: chunk.data.toString() });
    }
    expect(seen.map((s) => s.text).join('')).toBe('remote1\nremote2\nremote3\n');
    const first = seen.find((s) => s.text.includes('remote1'))!.at;
    const last = seen.find((s) => s.text.includes('remote3'))!.at;
    expect(last - first).toBeGreaterThanOrEqual(800);
  }, 60_000);

  it('runs jobs through one SSH connection: output, exit status, stdin', async () => {
    const { tracker } = f!;
    const input = join(sshd.dir, 'input.txt');
    await writeFile(input, 'through the tunnel\n');
    const [echo, failing, stdin] = await Promise.all([
      tracker.addJob({ jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', 'echo out; echo err >&2'] }),
      tracker.addJob({ jobCategory: stack.testImage, remoteCommand: 'sh', args: ['-c', 'exit 3'] }),
      tracker.addJob({ jobCategory: stack.testImage, remoteCommand: 'cat', inputPath: input }),
    ]);
    expect(await tracker.result(echo)).toMatchObject({
      info: { state: 'done', exitStatus: 0 },
      stdout: 'out\n',
      stderr: 'err\n',
    });
    expect((await tracker.result(failing)).info).toMatchObject({ state: 'failed', exitStatus: 3 });
    expect(await tracker.result(stdin)).toMatchObject({ info: { exitStatus: 0 }, stdout: 'through the tunnel\n' });
    // The worker's start and every request of the three jobs (create, attach, start, events, logs)
    // went over one SSH connection.
    expect(sshd.logins()).toBe(1);
  });

  it('survives a dropped connection mid-job: the job completes and runs once', async () => {
    const { tracker } = f!;
    const id = await tracker.addJob({
      jobCategory: stack.testImage,
      remoteCommand: 'sh',
      args: ['-c', untilTerm({ onTerm: 'echo done' })],
    });
    await tracker.wait(id, 30_000, ['running']);
    // Dropped while the worker waits for the exit (on Podman's event stream, through the connection).
    await eventually(async () => {
      const { raw } = await f!.client.workflow.getHandle(id).describe();
      expect(raw.pendingActivities?.map((a) => [a.activityType?.name, a.state])).toContainEqual([
        'waitAndCollect',
        proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      ]);
    }, 30_000);
    const logins = sshd.logins();
    const containerId = await containerOf(tracker, id);
    expect((await podmanInspect(containerId)).State.Running).toBe(true);
    expect(sshd.dropConnections()).toBeGreaterThan(0);
    await endByTerm(containerId);
    const r = await tracker.result(id);
    expect(r.info).toMatchObject({ state: 'done', exitStatus: 0 });
    expect(r.stdout).toBe('done\n');
    expect(await jobContainers(id)).toHaveLength(1);
    expect(sshd.logins()).toBe(logins + 1); // dialled again, once
  });

  it('refuses a changed host key, even with trust on first use, and creates no container', async () => {
    const file = await knownHosts('changed_known_hosts', sshd.wrongKnownHostsLine);
    const ssh = { knownHostsFile: file, trustOnFirstUse: true, identityFile: sshd.clientKey };
    const err = await refusal(ssh);
    expect(err.kind).toBe('DeniedByDrms');
    expect(err.message).toContain(`[127.0.0.1]:${sshd.port} has CHANGED`);
    expect(err.message).toContain(sshd.hostFingerprint);
    expect(err.message).toContain(`${file}:1`);
    expect(await readFile(file, 'utf8')).toBe(`${sshd.wrongKnownHostsLine}\n`);

    // A worker that knows its host name starts without Podman; its jobs then fail to start, typed.
    const wrong = await startTracker('ssh-changed', { podmanUri: uri, hostName: 'ssh-changed-key', ssh });
    try {
      const id = await wrong.tracker.addJob({ jobCategory: stack.testImage, remoteCommand: 'true' });
      const r = await wrong.tracker.result(id);
      expect(r.info).toMatchObject({ state: 'failed', subState: 'startFailed' });
      expect(r.info.annotation).toMatch(/^DeniedByDrms: ssh: the host key of .* has CHANGED/);
      expect(await sessionContainers(wrong.session)).toEqual([]);
    } finally {
      await wrong.close();
    }
  });

  it('refuses an unknown host unless trusted on first use, which records its key', async () => {
    const file = await knownHosts('new/known_hosts');
    const err = await refusal({ knownHostsFile: file, identityFile: sshd.clientKey });
    expect(err.kind).toBe('DeniedByDrms');
    expect(err.message).toContain(`host [127.0.0.1]:${sshd.port} is not in ${file}`);
    expect(err.message).toContain(sshd.hostFingerprint);
    expect(err.message).toContain('PODMAN_TRACKER_SSH_TOFU=1');
    expect(existsSync(file)).toBe(false);

    const docker = connect(uri, { knownHostsFile: file, trustOnFirstUse: true, identityFile: sshd.clientKey });
    try {
      expect((await docker.info()).Name).toBeTruthy();
    } finally {
      disconnect(docker);
    }
    expect(await readFile(file, 'utf8')).toBe(`${sshd.knownHostsLine}\n`);
    // OpenSSH itself finds the host in the file written.
    const { stdout } = await run('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', file]);
    expect(stdout).toContain(sshd.knownHostsLine);

    // Known now: no trust on first use needed.
    const again = connect(uri, { knownHostsFile: file, identityFile: sshd.clientKey });
    try {
      expect(await again.ping()).toBeTruthy();
    } finally {
      disconnect(again);
    }
  });

  it('logs in through an ssh-agent, and says so when no offered key is accepted', async () => {
    const file = await knownHosts('agent_known_hosts', sshd.knownHostsLine);
    const agent = await sshd.startAgent();
    const docker = connect(uri, { knownHostsFile: file, agentSocket: agent });
    try {
      expect(Array.isArray(await docker.listContainers())).toBe(true);
    } finally {
      disconnect(docker);
    }
    const err = await refusal({ knownHostsFile: file, identityFile: sshd.strangerKey });
    expect(err.kind).toBe('DeniedByDrms');
    expect(err.message).toBe(
      `ssh://root@127.0.0.1:${sshd.port}: the server refused to log root in (tried key ${sshd.strangerKey})`,
    );
  });
});
