// Temporal behind TLS, as production and Temporal Cloud run it: a TLS-terminating proxy on loopback
// (test/integration/tls-proxy.ts) in front of the stack's dev server, one that demands a client
// certificate of this test's CA and one that demands an API key. The worker and the command take their
// connection from TEMPORAL_* variables, a temporal.toml profile and flags (@temporalio/envconfig); the
// proxy records what arrived.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEnv, stack, uniqueSession } from '../helpers.js';
import { CLIENT_CN, makeCerts, type Certs } from './certs.js';
import { startWorkerProcess, type WorkerProcess } from './processes.js';
import { startTlsProxy, type TlsProxy } from './tls-proxy.js';

const bin = fileURLToPath(new URL('../../bin/podman-tracker', import.meta.url));
const API_KEY = 'pt-test-key-4f1d9c';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables of none but this test: the stack's TEMPORAL_ADDRESS and any TEMPORAL_* of the shell left out. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TEMPORAL_')) delete env[k];
  return env;
}

function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...baseEnv(), ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const echoHi = ['run', '--image', stack.testImage, '--', 'echo', 'hi'];

describe('Temporal over TLS: mTLS, profiles, a wrong CA, a missing client certificate, an API key', () => {
  const session = uniqueSession('tls');
  let dir: string;
  let certs: Certs;
  let mtls: TlsProxy;
  let keyed: TlsProxy;
  const workers: WorkerProcess[] = [];
  /** The variables of a client of the mTLS proxy, on a task queue of its own. */
  let mtlsEnv: (taskQueue: string) => NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pt-tls-'));
    certs = await makeCerts(dir);
    const upstream = requireEnv('TEMPORAL_ADDRESS');
    mtls = await startTlsProxy({ upstream, cert: certs.server, key: certs.serverKey, ca: certs.ca });
    keyed = await startTlsProxy({
      upstream,
      cert: certs.server,
      key: certs.serverKey,
      ca: certs.ca,
      requireClientCert: false,
      apiKey: API_KEY,
    });
    mtlsEnv = (taskQueue) => ({
      TEMPORAL_ADDRESS: mtls.address,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
      // The server's certificate names localhost; the proxy listens on 127.0.0.1.
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      PODMAN_TRACKER_TASK_QUEUE: taskQueue,
      PODMAN_TRACKER_SESSION: session,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all([mtls?.close(), keyed?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const mtlsQueue = `test-${session}-mtls`;

  it('mTLS from TEMPORAL_TLS_* variables: the worker and `podman-tracker run` reach Temporal with the client certificate', async () => {
    workers.push(await startWorkerProcess(mtlsQueue, `${session}-mtls`, { ...baseEnv(), ...mtlsEnv(mtlsQueue) }));
    const r = await cli(mtlsEnv(mtlsQueue), ...echoHi);
    expect(r, r.stderr).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });

    const paths = mtls.calls.map((c) => c.path);
    // The worker (Temporal's Rust core) and the command (grpc-js) both came through the proxy.
    expect(paths.some((p) => p.endsWith('/PollWorkflowTaskQueue'))).toBe(true);
    expect(paths.some((p) => p.endsWith('/RespondWorkflowTaskCompleted'))).toBe(true);
    expect(paths.some((p) => /\/(StartWorkflowExecution|ExecuteMultiOperation)$/.test(p))).toBe(true);
    expect(mtls.calls.filter((c) => !c.authorized || c.clientCertCN !== CLIENT_CN)).toEqual([]);
  }, 120_000);

  it('a temporal.toml profile (--config-file, --profile) gives the certificates, and a flag overrides its address', async () => {
    const config = join(dir, 'temporal.toml');
    await writeFile(
      config,
      [
        '[profile.secure]',
        // Nothing listens here: --temporal-address must win.
        'address = "127.0.0.1:1"',
        '[profile.secure.tls]',
        `client_cert_path = "${certs.client}"`,
        `client_key_path = "${certs.clientKey}"`,
        `server_ca_cert_path = "${certs.ca}"`,
        'server_name = "localhost"',
        '',
      ].join('\n'),
    );
    const before = mtls.calls.length;
    const env = { PODMAN_TRACKER_TASK_QUEUE: mtlsQueue, PODMAN_TRACKER_SESSION: session };
    const args = ['--config-file', config, '--profile', 'secure', '--temporal-address', mtls.address];
    const r = await cli(env, ...args, ...echoHi);
    expect(r, r.stderr).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    const calls = mtls.calls.slice(before);
    expect(calls.some((c) => /\/(StartWorkflowExecution|ExecuteMultiOperation)$/.test(c.path))).toBe(true);
    expect(calls.filter((c) => c.clientCertCN !== CLIENT_CN)).toEqual([]);

    // The same profile by TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE, its address by TEMPORAL_ADDRESS.
    const byEnv = await cli(
      { ...env, TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'secure', TEMPORAL_ADDRESS: mtls.address },
      ...echoHi,
    );
    expect(byEnv, byEnv.stderr).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });

    // A profile that is not in the file is the user's to fix, said in one line.
    const missing = await cli(env, '--config-file', config, '--profile', 'nope', 'list');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: InvalidArgument: Temporal connection profile: .*nope/);
  }, 120_000);

  it('a server certificate of another CA is refused, by the command and by the worker, with a clear error', async () => {
    const wrongCa = { ...mtlsEnv(mtlsQueue), TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.wrongCa };
    const r = await cli(wrongCa, ...echoHi);
    expect(r.code).toBe(125); // `run`: podman-tracker could not run the job
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^error: DrmCommunication: cannot reach Temporal at ${mtls.address}: .*certificate`, 'm'),
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);

    const worker = startWorkerProcess(`${mtlsQueue}-wrong-ca`, `${session}-wrong-ca`, { ...baseEnv(), ...wrongCa });
    await expect(worker).rejects.toThrow(
      /exited with 1:\npodman-tracker worker: DrmCommunication: cannot reach Temporal at [^\n]*UnknownIssuer[^\n]*\n$/,
    );
  }, 120_000);

  it('no client certificate: the proxy ends the handshake and the command says so', async () => {
    const handshakes = mtls.handshakeErrors.length;
    const env = { ...mtlsEnv(mtlsQueue) };
    delete env.TEMPORAL_TLS_CLIENT_CERT_PATH;
    delete env.TEMPORAL_TLS_CLIENT_KEY_PATH;
    const r = await cli(env, ...echoHi);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(
      new RegExp(`^error: DrmCommunication: cannot reach Temporal at ${mtls.address}: .*certificate`, 'm'),
    );
    expect(mtls.handshakeErrors.length).toBeGreaterThan(handshakes);
    expect(mtls.handshakeErrors.at(-1)).toMatch(/certificate/i);
  }, 120_000);

  it('an API key goes as `authorization: Bearer <key>` on every call, as Temporal Cloud expects; a wrong one is refused', async () => {
    const taskQueue = `test-${session}-key`;
    const env = {
      TEMPORAL_ADDRESS: keyed.address,
      TEMPORAL_API_KEY: API_KEY,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      PODMAN_TRACKER_TASK_QUEUE: taskQueue,
      PODMAN_TRACKER_SESSION: session,
    };
    workers.push(await startWorkerProcess(taskQueue, `${session}-key`, { ...baseEnv(), ...env }));
    const r = await cli(env, ...echoHi);
    expect(r, r.stderr).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    const paths = keyed.calls.map((c) => c.path);
    expect(paths.some((p) => p.endsWith('/PollWorkflowTaskQueue'))).toBe(true);
    expect(paths.some((p) => /\/(StartWorkflowExecution|ExecuteMultiOperation)$/.test(p))).toBe(true);
    expect(keyed.calls.filter((c) => c.authorization !== `Bearer ${API_KEY}`)).toEqual([]);

    const before = keyed.calls.length;
    const wrong = await cli({ ...env, TEMPORAL_API_KEY: 'not-the-key' }, ...echoHi);
    expect(wrong.code).toBe(125);
    expect(wrong.stderr).toMatch(/^error: DrmCommunication: cannot reach Temporal at .*invalid API key/m);
    expect(keyed.calls.slice(before).map((c) => c.authorization)).toContain('Bearer not-the-key');
  }, 120_000);
});
