// The Podman API client (dockerode over Podman's Docker-compatible API) and the mapping of its
// failures onto DRMAA2 error kinds.
import Docker from 'dockerode';
import type http from 'node:http';
import { parseConnectionUri, type PodmanConnection } from '../common/connection.js';
import { DrmaaError, type ErrorKind } from '../common/errors.js';
import { closeEventHub } from './events.js';
import { SshAgent, SshTunnel, type SshOptions } from './ssh.js';

export type { SshOptions } from './ssh.js';

/** A Podman client for a connection URI; ssh:// URIs also take the SSH options (host keys, login). */
export function connect(uri: string, ssh: SshOptions = {}): Docker {
  return dockerFor(parseConnectionUri(uri), ssh);
}

export function dockerFor(c: PodmanConnection, ssh: SshOptions = {}): Docker {
  switch (c.scheme) {
    case 'unix':
      return new Docker({ socketPath: c.socketPath });
    case 'tcp':
      return new Docker({ host: c.host, port: c.port, protocol: 'http' });
    case 'ssh': {
      // dockerode speaks plain HTTP; each of its connections is a channel of one SSH connection.
      // (docker-modem takes `agent`; its typings do not say so.)
      const options: Docker.DockerOptions & { agent: http.Agent } = {
        host: c.host,
        port: c.port,
        protocol: 'http',
        agent: new SshAgent(new SshTunnel(c, ssh)),
      };
      return new Docker(options);
    }
  }
}

/** Closes what the client holds open beyond its requests (the SSH connection of an ssh:// client). */
export function disconnect(docker: Docker): void {
  closeEventHub(docker);
  (docker.modem as { agent?: http.Agent }).agent?.destroy();
}

/** What dockerode's modem rejects with: an Error with the HTTP status and Podman's JSON answer. */
interface ModemError extends Error {
  statusCode?: number;
  json?: { message?: string; cause?: string } | null;
  code?: string;
}

export function statusOf(err: unknown): number | undefined {
  return (err as ModemError | undefined)?.statusCode;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/**
 * Podman 4.3's inspect of a container whose process has just exited can fail reading the dead
 * process's cgroup ("read /proc/PID/cgroup: no such process": containers/podman#16383, fixed in
 * 4.4 by #16504). A second look a moment later sees the container stopped.
 */
export function isExitRace(err: unknown): boolean {
  return /\/proc\/\d+\/cgroup: no such (process|file)/.test(podmanMessage(err));
}

/** Podman's own words for a failure, without dockerode's "(HTTP code 500) server error -" prefix. */
export function podmanMessage(err: unknown): string {
  const e = err as ModemError;
  return e?.json?.message ?? e?.message ?? String(err);
}

/**
 * A failure that never reached Podman (socket refused, reset, timed out) is DrmCommunication and
 * retryable; Podman's own refusal is the kind given, not retried.
 */
export function toDrmaaError(err: unknown, kind: ErrorKind, context: string): DrmaaError {
  if (err instanceof DrmaaError) return err;
  const status = statusOf(err);
  const message = podmanMessage(err);
  // A full disk, Podman's (its storage) or the worker's (output files): retrying cannot help until
  // someone makes room, and the message must say which disk.
  if (/no space left on device|ENOSPC/i.test(message) || (err as ModemError)?.code === 'ENOSPC') {
    const where = status === undefined ? "on the worker's disk" : "in Podman's storage";
    return new DrmaaError('OutOfResource', `${context}: no space left ${where}: ${message}`, {
      cause: err instanceof Error ? err : undefined,
    });
  }
  if (status === undefined) {
    return new DrmaaError('DrmCommunication', `${context}: cannot reach Podman: ${message}`, {
      retryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  }
  // Too large a request (labels, arguments) stays too large however often it is sent.
  if (status === 413 || status === 414 || status === 431) {
    return new DrmaaError('InvalidArgument', `${context}: the request is too large for Podman (HTTP ${status})`);
  }
  return new DrmaaError(kind, `${context}: ${message}`);
}
