// The Podman API client (dockerode over Podman's Docker-compatible API) and the mapping of its
// failures onto DRMAA2 error kinds.
import Docker from 'dockerode';
import { parseConnectionUri, unsupportedSsh, type PodmanConnection } from '../common/connection.js';
import { DrmaaError, type ErrorKind } from '../common/errors.js';

export function connect(uri: string): Docker {
  return dockerFor(parseConnectionUri(uri));
}

export function dockerFor(c: PodmanConnection): Docker {
  switch (c.scheme) {
    case 'unix':
      return new Docker({ socketPath: c.socketPath });
    case 'tcp':
      return new Docker({ host: c.host, port: c.port, protocol: 'http' });
    case 'ssh':
      throw unsupportedSsh();
  }
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
  if (status === undefined) {
    return new DrmaaError('DrmCommunication', `${context}: cannot reach Podman: ${podmanMessage(err)}`, {
      retryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  }
  return new DrmaaError(kind, `${context}: ${podmanMessage(err)}`);
}
