// Where Temporal is and how to reach it, as every Temporal tool finds it: a profile of the
// `temporal.toml` file that the `temporal` CLI shares, then TEMPORAL_* variables over it
// (@temporalio/envconfig reads both), then this command's flags over those.
import { Client, Connection, type ClientOptions, type TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import { DrmaaError, invalidArgument } from '../common/errors.js';
import { tlsFailure } from './tls-probe.js';

/** Flags over the profile and the variables, named as the `temporal` CLI names them. */
export interface TemporalFlags {
  /** host:port of a Temporal frontend (TEMPORAL_ADDRESS; default localhost:7233). */
  temporalAddress?: string;
  namespace?: string;
  /** A profile of the config file (TEMPORAL_PROFILE; default: `default`). */
  profile?: string;
  /** The config file (TEMPORAL_CONFIG_FILE; default ~/.config/temporalio/temporal.toml). */
  configFile?: string;
  /** Sent as `authorization: Bearer <key>`, as Temporal Cloud expects; turns TLS on (TEMPORAL_API_KEY). */
  apiKey?: string;
  /** TLS on (true) or off (false) whatever else is set (TEMPORAL_TLS). */
  tls?: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
}

/** A resolved connection: what `Connection.connect` and `NativeConnection.connect` take, and the namespace. */
export interface TemporalConnection {
  address: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';

/** Resolves flags over variables over the profile; a missing profile or unreadable file is InvalidArgument. */
export function temporalConnection(
  flags: TemporalFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnection {
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      profile: flags.profile,
      configSource: flags.configFile ? { path: flags.configFile } : undefined,
      overrideEnvVars: env as Record<string, string>,
    });
  } catch (err) {
    throw invalidArgument(`Temporal connection profile: ${(err as Error).message}`);
  }
  const tls = { ...profile.tls };
  if (flags.tls !== undefined) tls.disabled = !flags.tls;
  if (flags.tlsCertPath) tls.clientCert = { path: flags.tlsCertPath };
  if (flags.tlsKeyPath) tls.clientKey = { path: flags.tlsKeyPath };
  if (flags.tlsCaPath) tls.serverCACert = { path: flags.tlsCaPath };
  if (flags.tlsServerName) tls.serverName = flags.tlsServerName;
  if (Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
    throw invalidArgument('a TLS client certificate needs its key, and a key its certificate');
  }
  let options;
  try {
    options = toClientOptions({
      ...profile,
      address: flags.temporalAddress ?? profile.address,
      namespace: flags.namespace ?? profile.namespace,
      apiKey: flags.apiKey ?? profile.apiKey,
      tls: Object.keys(tls).length ? tls : undefined,
    });
  } catch (err) {
    // A certificate file that cannot be read.
    throw invalidArgument(`Temporal TLS: ${(err as Error).message}`);
  }
  const c = options.connectionOptions;
  return {
    address: c.address || DEFAULT_TEMPORAL_ADDRESS,
    namespace: options.namespace || 'default',
    ...(c.tls !== undefined && c.tls !== null ? { tls: c.tls } : {}),
    ...(typeof c.apiKey === 'string' ? { apiKey: c.apiKey } : {}),
    ...(profile.grpcMeta ? { metadata: profile.grpcMeta } : {}),
  };
}

/** The connection as one line, for logs: no key, no certificate. */
export function describeTemporal(c: TemporalConnection): string {
  const tls = c.tls ? (typeof c.tls === 'object' && c.tls.clientCertPair ? 'mTLS' : 'TLS') : 'plain';
  return `${c.address} (namespace ${c.namespace}, ${tls}${c.apiKey ? ', API key' : ''})`;
}

/** An error and its causes in one line ("Failed to connect to Temporal server: 16 UNAUTHENTICATED: ..."). */
function withCauses(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && depth < 5; e = (e as Error).cause, depth++) {
    const m = (e as Error)?.message ?? String(e);
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
  }
  return parts.join(': ');
}

/** What cannot reach Temporal becomes DrmCommunication, with the address and the cause in one line. */
export function unreachableTemporal(c: TemporalConnection, err: unknown, why?: string): DrmaaError {
  const message = why ? `${withCauses(err)} (${why})` : withCauses(err);
  return new DrmaaError('DrmCommunication', `cannot reach Temporal at ${c.address}: ${message}`);
}

export async function connectTemporal(c: TemporalConnection): Promise<Connection> {
  try {
    return await Connection.connect({ address: c.address, tls: c.tls, apiKey: c.apiKey, metadata: c.metadata });
  } catch (err) {
    // grpc-js says only that the deadline passed; a handshake of Node's own says why TLS failed.
    throw unreachableTemporal(c, err, c.tls ? await tlsFailure(c) : undefined);
  }
}

/**
 * A connection that opens with its first call, and the server's check of it (what `connectTemporal`
 * waits for) going on beside that call: a command's first call does not wait a round trip and a
 * protobuf encoder of its own for the check. `checked` rejects as `connectTemporal` would.
 */
export function connectTemporalLazily(c: TemporalConnection): { connection: Connection; checked: Promise<void> } {
  const connection = Connection.lazy({ address: c.address, tls: c.tls, apiKey: c.apiKey, metadata: c.metadata });
  const checked = connection.ensureConnected().catch(async (err: unknown) => {
    throw unreachableTemporal(c, err, c.tls ? await tlsFailure(c) : undefined);
  });
  checked.catch(() => undefined); // the caller awaits it where it matters
  return { connection, checked };
}

/**
 * A Temporal client as the `podman-tracker` command makes one: connection from the profile, the
 * variables and `flags`; pass `plugins: [new PodmanTrackerPlugin(...)]` for its data converter.
 * Close it with `client.connection.close()`.
 */
export async function connectClient(
  flags: TemporalFlags = {},
  options: Omit<ClientOptions, 'connection' | 'namespace'> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Client> {
  const c = temporalConnection(flags, env);
  return new Client({ ...options, connection: await connectTemporal(c), namespace: c.namespace });
}
