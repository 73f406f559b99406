// Podman connection URIs, as Podman's own remote clients write them.
import { existsSync } from 'node:fs';
import { invalidArgument } from './errors.js';

export type PodmanConnection =
  | { scheme: 'unix'; socketPath: string }
  | { scheme: 'tcp'; host: string; port: number }
  | { scheme: 'ssh'; user: string; host: string; port: number; socketPath: string; secure: boolean; password?: string };

/**
 * Parses `unix:///path`, `tcp://host:port`, `ssh://user@host[:port]/path[?secure=true]`. `secure` is
 * kept for Podman's URIs; host keys are checked whatever it says (see activities/ssh.ts).
 */
export function parseConnectionUri(uri: string): PodmanConnection {
  const bad = (why: string) => invalidArgument(`Podman connection URI "${uri}": ${why}`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw bad('not a URI; expected unix:///path, tcp://host:port or ssh://user@host[:port]/path');
  }
  switch (url.protocol) {
    case 'unix:': {
      if (url.host !== '') throw bad('a unix URI has no host: write unix:///absolute/path (three slashes)');
      const socketPath = decodeURIComponent(url.pathname);
      if (socketPath === '' || socketPath === '/') throw bad('the socket path is missing');
      return { scheme: 'unix', socketPath };
    }
    case 'tcp:': {
      if (!url.hostname) throw bad('the host is missing');
      if (!url.port) throw bad('the port is missing (tcp://host:port)');
      if (url.pathname !== '' && url.pathname !== '/') throw bad('a tcp URI has no path');
      return { scheme: 'tcp', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
    }
    case 'ssh:': {
      if (!url.hostname) throw bad('the host is missing');
      if (!url.username) throw bad('the user is missing (ssh://user@host/path)');
      const socketPath = decodeURIComponent(url.pathname);
      if (socketPath === '' || socketPath === '/') throw bad('the remote socket path is missing');
      const secure = url.searchParams.get('secure');
      if (secure !== null && !/^(true|false)$/i.test(secure))
        throw bad(`secure must be true or false, not "${secure}"`);
      return {
        scheme: 'ssh',
        user: decodeURIComponent(url.username),
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port ? Number(url.port) : 22,
        socketPath,
        secure: secure?.toLowerCase() === 'true',
        ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      };
    }
    default:
      throw bad(`unknown scheme "${url.protocol.replace(/:$/, '')}"; use unix, tcp or ssh`);
  }
}

/**
 * The connection to use when none is given: CONTAINER_HOST, then the user's socket, then the
 * rootful one -- the first socket that exists, else the first candidate.
 */
export function defaultConnectionUri(
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): string {
  if (env.CONTAINER_HOST) return env.CONTAINER_HOST;
  const candidates = [
    ...(env.XDG_RUNTIME_DIR ? [`${env.XDG_RUNTIME_DIR}/podman/podman.sock`] : []),
    '/run/podman/podman.sock',
  ];
  const found = candidates.find((p) => exists(p)) ?? candidates[0]!;
  return `unix://${found}`;
}

export function describeConnection(c: PodmanConnection): string {
  switch (c.scheme) {
    case 'unix':
      return `unix://${c.socketPath}`;
    case 'tcp':
      return `tcp://${c.host}:${c.port}`;
    case 'ssh':
      return `ssh://${c.user}@${c.host}:${c.port}${c.socketPath}`;
  }
}
