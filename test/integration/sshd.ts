// A real OpenSSH server for the ssh:// tests: Debian's sshd on a free 127.0.0.1 port, with its own
// host key and an authorized client key, in a temp dir; and an ssh-agent holding another key.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Sshd {
  port: number;
  dir: string;
  /** Authorized: log in with it as CONTAINER_SSHKEY would name it. */
  clientKey: string;
  /** Not authorized. */
  strangerKey: string;
  /** The host's key as a known_hosts line for 127.0.0.1:port. */
  knownHostsLine: string;
  /** Another host's key under this host's name: what a changed host key looks like. */
  wrongKnownHostsLine: string;
  /** `ssh-keygen -lf` of the host key: SHA256:... */
  hostFingerprint: string;
  /** Logins sshd accepted so far (one per SSH connection). */
  logins(): number;
  /** Kills sshd's per-connection processes, as a dropped link would end them; the listener stays. */
  dropConnections(): number;
  /** An ssh-agent holding a key that sshd accepts (and no other way to log in). */
  startAgent(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function keygen(path: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path]);
  return (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
}

/** Every descendant of a process, deepest last, read from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp !== p) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export async function startSshd(): Promise<Sshd> {
  const dir = await mkdtemp(join(tmpdir(), 'podman-tracker-sshd-'));
  // sshd insists on its privilege separation directory (made by the ssh service, which does not run here).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const [hostKey, otherHostKey, clientKey, , agentKey] = await Promise.all([
    keygen(join(dir, 'host_key')),
    keygen(join(dir, 'other_host_key')),
    keygen(join(dir, 'client_key')),
    keygen(join(dir, 'stranger_key')),
    keygen(join(dir, 'agent_key')),
  ]);
  await writeFile(join(dir, 'authorized_keys'), `${clientKey}\n${agentKey}\n`, { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      'PidFile none',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The temp dir is under /tmp, which StrictModes would refuse as a home for authorized_keys.
      'StrictModes no',
      'AllowStreamLocalForwarding yes',
      // `no` would forbid unix socket forwards as well: OpenSSH applies it to both.
      'AllowTcpForwarding local',
      'X11Forwarding no',
      'PermitTTY no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );

  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start:\n${log}`)), 10_000);
    sshd.stderr!.on('data', () => {
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    sshd.once('exit', (code) => reject(new Error(`sshd exited with ${code}:\n${log}`)));
  });
  const { stdout: fp } = await run('ssh-keygen', ['-l', '-f', join(dir, 'host_key.pub')]);

  let agent: ChildProcess | undefined;
  return {
    port,
    dir,
    clientKey: join(dir, 'client_key'),
    strangerKey: join(dir, 'stranger_key'),
    knownHostsLine: `[127.0.0.1]:${port} ${hostKey}`,
    wrongKnownHostsLine: `[127.0.0.1]:${port} ${otherHostKey}`,
    hostFingerprint: fp.split(/\s+/)[1]!,
    logins: () => log.match(/Accepted publickey for root/g)?.length ?? 0,
    dropConnections() {
      const pids = descendants(sshd.pid!);
      for (const pid of pids) kill(pid, 'SIGKILL');
      return pids.length;
    },
    async startAgent() {
      const socket = join(dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      for (let i = 0; i < 50 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
      await run('ssh-add', ['-q', join(dir, 'agent_key')], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      return socket;
    },
    async stop() {
      if (agent) await stopChild(agent);
      const children = descendants(sshd.pid!);
      await stopChild(sshd);
      for (const pid of children) kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
