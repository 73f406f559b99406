// Podman's API through SSH, as Podman's own remote client reaches it: one long-lived SSH
// connection (ssh2) that forwards each HTTP connection to the remote unix socket (OpenSSH's
// direct-streamlocal channel), under dockerode as an http.Agent. The connection is dialled on first
// use and again after it drops; a request in flight when it drops fails as a socket error, which the
// activities treat as retryable DrmCommunication.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import ssh2 from 'ssh2';
import type { ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import type { PodmanConnection } from '../common/connection.js';
import { DrmaaError, invalidArgument } from '../common/errors.js';
import {
  checkHostKey,
  fingerprint,
  hostKeyName,
  keyTypeOf,
  knownHostsLine,
  parseKnownHosts,
  recordedKeyTypes,
  type KnownHostEntry,
} from './known-hosts.js';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

export type SshConnection = Extract<PodmanConnection, { scheme: 'ssh' }>;

export interface SshOptions {
  /** Host keys to trust; default ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** Accept the key of a host the file does not know, and append it (never a changed key). */
  trustOnFirstUse?: boolean;
  /** A private key file to log in with (CONTAINER_SSHKEY, as Podman's clients read it). */
  identityFile?: string;
  identityPassphrase?: string;
  /** An ssh-agent socket to log in with (SSH_AUTH_SOCK). */
  agentSocket?: string;
}

/** Keep-alive interval; three unanswered ones drop the connection (dialled again on next use). */
const KEEPALIVE_MS = 15_000;
const READY_TIMEOUT_MS = 20_000;
/** ssh2's host key algorithms, in its own order of preference. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

export function knownHostsPath(o: SshOptions): string {
  return o.knownHostsFile || join(homedir(), '.ssh', 'known_hosts');
}

const describeSsh = (c: SshConnection) => `ssh://${c.user}@${c.host}:${c.port}`;

type Credentials = Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'agent' | 'password'>;

/**
 * The ways to log in that the options and the URL give, in Podman's order: identity file,
 * agent, password. A key that cannot be read or decrypted is an error now, not at first use.
 */
export function credentials(c: SshConnection, o: SshOptions): { config: Credentials; methods: string[] } {
  const config: Credentials = {};
  const methods: string[] = [];
  if (o.identityFile) {
    let key: Buffer;
    try {
      key = readFileSync(o.identityFile);
    } catch (err) {
      throw invalidArgument(`ssh identity file ${o.identityFile} cannot be read: ${(err as Error).message}`);
    }
    const parsed = utils.parseKey(key, o.identityPassphrase);
    if (parsed instanceof Error) {
      const hint = /encrypted|passphrase/i.test(parsed.message) ? ' (set CONTAINER_SSHKEY_PASSPHRASE)' : '';
      throw invalidArgument(`ssh identity file ${o.identityFile}: ${parsed.message}${hint}`);
    }
    config.privateKey = key;
    if (o.identityPassphrase) config.passphrase = o.identityPassphrase;
    methods.push(`key ${o.identityFile}`);
  }
  if (o.agentSocket) {
    config.agent = o.agentSocket;
    methods.push(`ssh-agent ${o.agentSocket}`);
  }
  if (c.password !== undefined) {
    config.password = c.password;
    methods.push('the password in the URL');
  }
  if (!methods.length) {
    throw invalidArgument(
      `${describeSsh(c)}: no way to log in: set CONTAINER_SSHKEY (--identity) to a private key file, ` +
        `run an ssh-agent (SSH_AUTH_SOCK), or put the password in the URL`,
    );
  }
  return { config, methods };
}

/** Host key algorithms with the types known_hosts holds for the host first, as `ssh` orders them. */
export function hostKeyAlgorithms(knownTypes: string[]): ServerHostKeyAlgorithm[] {
  const known = (a: ServerHostKeyAlgorithm) => knownTypes.includes(a.startsWith('rsa-sha2-') ? 'ssh-rsa' : a);
  return [...HOST_KEY_ALGORITHMS.filter(known), ...HOST_KEY_ALGORITHMS.filter((a) => !known(a))];
}

const refused = (message: string) => new DrmaaError('DeniedByDrms', message);

/** The SSH connection, shared by every request of one Podman client. */
export class SshTunnel {
  private current?: Promise<SshClient>;
  private closed = false;
  readonly description: string;
  private readonly name: string;
  private readonly credentials: { config: Credentials; methods: string[] };

  constructor(
    private readonly target: SshConnection,
    private readonly options: SshOptions = {},
  ) {
    this.description = describeSsh(target);
    this.name = hostKeyName(target.host, target.port);
    this.credentials = credentials(target, options);
  }

  /** A stream to the remote Podman socket, over the connection (dialled if there is none). */
  async openStream(): Promise<Duplex> {
    if (this.closed) throw new Error(`${this.description}: the connection is closed`);
    const client = await this.connection();
    const channel = await new Promise<Duplex>((resolve, reject) => {
      try {
        client.openssh_forwardOutStreamLocal(this.target.socketPath, (err, ch) => {
          if (!err) return resolve(ch);
          // OpenSSH answers "administratively prohibited" when its config forbids the forward.
          if ((err as Error & { reason?: number }).reason === 1) {
            return reject(
              refused(
                `${this.description} refuses to forward to ${this.target.socketPath}: ` +
                  `its sshd_config needs AllowStreamLocalForwarding yes (and AllowTcpForwarding not "no")`,
              ),
            );
          }
          reject(new Error(`${this.description}: cannot open ${this.target.socketPath}: ${err.message}`));
        });
      } catch (err) {
        reject(err as Error); // the connection went away between dial and open
      }
    });
    return asSocket(channel);
  }

  close(): void {
    this.closed = true;
    void this.current?.then(
      (c) => c.end(),
      () => undefined,
    );
    this.current = undefined;
  }

  private connection(): Promise<SshClient> {
    if (!this.current) {
      const dialling: Promise<SshClient> = this.dial(() => {
        if (this.current === dialling) this.current = undefined;
      });
      this.current = dialling;
    }
    return this.current;
  }

  private async dial(gone: () => void): Promise<SshClient> {
    const file = knownHostsPath(this.options);
    const entries = parseKnownHosts(
      await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return '';
        throw refused(`${this.description}: cannot read known hosts file ${file}: ${err.message}`);
      }),
    );
    const client = new Client();
    let refusal: DrmaaError | undefined;
    return await new Promise<SshClient>((resolve, reject) => {
      let ready = false;
      const fail = (err: Error & { level?: string }) => {
        if (ready) return; // a live connection's error: 'close' follows, and the next request dials again
        gone();
        client.end();
        if (refusal) return reject(refusal);
        if (err.level === 'client-authentication') {
          return reject(
            refused(
              `${this.description}: the server refused to log ${this.target.user} in ` +
                `(tried ${this.credentials.methods.join(', ')})`,
            ),
          );
        }
        const via = err.level === 'agent' ? ` (ssh-agent ${this.options.agentSocket})` : '';
        reject(new Error(`${this.description}: ${err.message}${via}`));
      };
      client
        .on('ready', () => {
          ready = true;
          resolve(client);
        })
        .on('error', fail)
        .on('close', () => {
          gone();
          fail(new Error('the connection closed during the handshake'));
        })
        .connect({
          host: this.target.host,
          port: this.target.port,
          username: this.target.user,
          ...this.credentials.config,
          keepaliveInterval: KEEPALIVE_MS,
          keepaliveCountMax: 3,
          readyTimeout: READY_TIMEOUT_MS,
          algorithms: { serverHostKey: hostKeyAlgorithms(recordedKeyTypes(entries, this.name)) },
          hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
            this.verifyHostKey(entries, file, key).then(
              () => verify(true),
              (err: DrmaaError) => {
                refusal = err;
                verify(false);
              },
            );
          },
        });
    });
  }

  /** known_hosts decides; an unknown host is trusted (and recorded) only when the user opted in. */
  private async verifyHostKey(entries: KnownHostEntry[], file: string, key: Buffer): Promise<void> {
    const verdict = checkHostKey(entries, this.name, key);
    const presented = `${keyTypeOf(key)} key ${fingerprint(key)}`;
    const at = (e: KnownHostEntry) => `${file}:${e.line}`;
    switch (verdict.status) {
      case 'known':
        return;
      case 'revoked':
        throw refused(`ssh: the host key of ${this.name} (${presented}) is marked @revoked in ${at(verdict.entry)}`);
      case 'changed':
        throw refused(
          `ssh: the host key of ${this.name} has CHANGED: it presents an ${presented}, but ` +
            verdict.recorded.map((e) => `${at(e)} holds ${e.keyType} ${fingerprint(e.key)}`).join('; ') +
            `. Someone may be intercepting the connection, or the host was reinstalled; a changed key is always ` +
            `refused. If the change is expected, remove the old key (ssh-keygen -R '${this.name}' -f ${file}) and connect again.`,
        );
      case 'unknown':
        if (!this.options.trustOnFirstUse) {
          throw refused(
            `ssh: host ${this.name} is not in ${file}; it presents an ${presented}. Check that fingerprint ` +
              `with the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add the key to ${file} ` +
              `(ssh-keyscan${this.target.port === 22 ? '' : ` -p ${this.target.port}`} ${this.target.host} >> ${file}), ` +
              `or let the worker record it on first use (PODMAN_TRACKER_SSH_TOFU=1 or --ssh-tofu)`,
          );
        }
        await recordHostKey(file, knownHostsLine(this.name, key)).catch((err: Error) => {
          throw refused(`ssh: cannot record the key of ${this.name} in ${file}: ${err.message}`);
        });
    }
  }
}

/** Appends a line, starting a new one if the file does not end with one. */
async function recordHostKey(file: string, line: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const text = await readFile(file, 'utf8').catch(() => '');
  await appendFile(file, `${text && !text.endsWith('\n') ? '\n' : ''}${line}\n`, { mode: 0o600 });
}

/**
 * A channel dressed as the socket Node's http client expects. ssh2 emits a channel's 'close' only
 * once its end has been read: a destroyed channel is drained, so that the agent lets go of it.
 */
function asSocket(channel: Duplex): Duplex {
  const noop = () => undefined;
  const end = channel.destroy.bind(channel);
  const destroy = () => {
    channel.resume();
    end();
    return channel;
  };
  return Object.assign(channel, {
    setKeepAlive: noop,
    setNoDelay: noop,
    setTimeout: noop,
    ref: noop,
    unref: noop,
    destroy,
    destroySoon: destroy,
  });
}

/** An http.Agent whose connections are channels of the tunnel: dockerode's transport for ssh://. */
export class SshAgent extends http.Agent {
  constructor(readonly tunnel: SshTunnel) {
    super({ keepAlive: false });
  }

  /**
   * docker-modem formats every request's options, agent included, with util.inspect (depth: null)
   * even when its debug output is off: through the SSH client that took seconds per request.
   */
  [inspect.custom](): string {
    return `SshAgent(${this.tunnel.description})`;
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    this.tunnel.openStream().then(
      (s) => callback?.(null, s),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }

  /** Ends the SSH connection too: the worker calls this when it stops. */
  override destroy(): void {
    super.destroy();
    this.tunnel.close();
  }
}
