// How an ssh:// Podman connection is configured: variables and flags, the ways to log in, and the
// host key algorithms asked for. Nothing here dials (test/integration/ssh.test.ts does).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../activities/podman.js';
import { credentials, hostKeyAlgorithms, knownHostsPath, type SshConnection } from '../../activities/ssh.js';
import { DrmaaError } from '../../common/errors.js';
import { configFromEnv, withFlags } from '../../worker/worker.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, passphrase?: string): string {
  // ssh2's generator writes about 1 encrypted key in 200 that neither ssh2 nor ssh-keygen can read
  // with its own passphrase (measured): a key is made again until it reads, so the test is not flaky.
  let pair: ReturnType<typeof ssh2.utils.generateKeyPairSync>;
  do {
    pair = ssh2.utils.generateKeyPairSync('ed25519', passphrase ? { passphrase, cipher: 'aes256-cbc', rounds: 1 } : {});
  } while (passphrase && ssh2.utils.parseKey(pair.private, passphrase) instanceof Error);
  const path = join(dir, name);
  writeFileSync(path, pair.private, { mode: 0o600 });
  return path;
}

const target: SshConnection = {
  scheme: 'ssh',
  user: 'core',
  host: 'h.example',
  port: 2222,
  socketPath: '/run/podman/podman.sock',
  secure: false,
};

function thrown(fn: () => unknown): DrmaaError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DrmaaError);
    return e as DrmaaError;
  }
  throw new Error('did not throw');
}

describe('ssh options', () => {
  it('reads Podman’s variables and its own, and lets the flags override them', () => {
    const env = {
      CONTAINER_HOST: 'ssh://core@h.example:2222/run/podman/podman.sock',
      CONTAINER_SSHKEY: '/keys/id',
      CONTAINER_SSHKEY_PASSPHRASE: 'secret',
      SSH_AUTH_SOCK: '/tmp/agent.sock',
      PODMAN_TRACKER_SSH_KNOWN_HOSTS: '/etc/tracker/known_hosts',
      PODMAN_TRACKER_SSH_TOFU: 'true',
    };
    const base = configFromEnv(env);
    expect(base.ssh).toEqual({
      knownHostsFile: '/etc/tracker/known_hosts',
      trustOnFirstUse: true,
      identityFile: '/keys/id',
      identityPassphrase: 'secret',
      agentSocket: '/tmp/agent.sock',
    });
    expect(configFromEnv({}).ssh).toEqual({
      knownHostsFile: undefined,
      trustOnFirstUse: false,
      identityFile: undefined,
      identityPassphrase: undefined,
      agentSocket: undefined,
    });
    expect(configFromEnv({ PODMAN_TRACKER_SSH_TOFU: '0' }).ssh?.trustOnFirstUse).toBe(false);

    const flagged = withFlags(base, { identity: '/other/id', sshKnownHosts: '/other/known', sshTofu: false });
    expect(flagged.ssh).toEqual({
      ...base.ssh,
      identityFile: '/other/id',
      knownHostsFile: '/other/known',
      trustOnFirstUse: false,
    });
    expect(withFlags(base, {}).ssh).toEqual(base.ssh);
  });

  it('uses ~/.ssh/known_hosts unless a file is named', () => {
    expect(knownHostsPath({})).toMatch(/\/\.ssh\/known_hosts$/);
    expect(knownHostsPath({ knownHostsFile: '/k' })).toBe('/k');
  });

  it('logs in with the identity file, the agent and the URL’s password, in that order', () => {
    const id = keyFile('plain');
    const c = credentials({ ...target, password: 'pw' }, { identityFile: id, agentSocket: '/tmp/agent.sock' });
    expect(c.methods).toEqual([`key ${id}`, 'ssh-agent /tmp/agent.sock', 'the password in the URL']);
    expect(c.config).toMatchObject({ agent: '/tmp/agent.sock', password: 'pw' });
    expect(c.config.privateKey?.toString()).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(credentials(target, { agentSocket: '/a' }).methods).toEqual(['ssh-agent /a']);
  });

  it('decrypts an identity file with its passphrase, and says when one is missing or wrong', () => {
    const id = keyFile('locked', 'open sesame');
    expect(credentials(target, { identityFile: id, identityPassphrase: 'open sesame' }).config.passphrase).toBe(
      'open sesame',
    );
    for (const passphrase of [undefined, 'wrong']) {
      const err = thrown(() => credentials(target, { identityFile: id, identityPassphrase: passphrase }));
      expect(err.kind).toBe('InvalidArgument');
      expect(err.message).toContain(id);
      expect(err.message).toContain('CONTAINER_SSHKEY_PASSPHRASE');
    }
  });

  it('refuses a missing identity file, and a connection with no way to log in', () => {
    const missing = thrown(() => credentials(target, { identityFile: join(dir, 'nope') }));
    expect(missing).toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(/nope cannot be read/) });
    const none = thrown(() => credentials(target, {}));
    expect(none.kind).toBe('InvalidArgument');
    expect(none.message).toMatch(/ssh:\/\/core@h\.example:2222: no way to log in: set CONTAINER_SSHKEY/);
  });

  it('builds a client for ssh:// without dialling, and refuses one with no way to log in', () => {
    const docker = connect('ssh://core:pw@h.example:2222/run/podman/podman.sock');
    // docker-modem util.inspects every request's options, agent included: that must stay one short line.
    const agent = (docker.modem as { agent?: unknown }).agent;
    expect(inspect(agent, { showHidden: true, depth: null })).toBe('SshAgent(ssh://core@h.example:2222)');
    expect(thrown(() => connect('ssh://core@h.example/run/podman/podman.sock')).kind).toBe('InvalidArgument');
  });

  it('asks for the key types known_hosts holds first, and still offers the rest', () => {
    expect(hostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
    const rsaFirst = hostKeyAlgorithms(['ssh-rsa']);
    expect(rsaFirst.slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(rsaFirst).toHaveLength(hostKeyAlgorithms([]).length);
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp256', 'ssh-ed25519']).slice(0, 2)).toEqual([
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
    ]);
  });
});
