// Temporal's connection as the CLI, the worker and connectClient resolve it: the profile of the
// `temporal` CLI's config file, TEMPORAL_* variables over it, flags over those.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporalConnection } from '../../client/connection.js';

const dir = mkdtempSync(join(tmpdir(), 'podman-tracker-envconfig-'));
const file = join(dir, 'temporal.toml');
writeFileSync(join(dir, 'ca.pem'), 'CA');
writeFileSync(join(dir, 'client.pem'), 'CERT');
writeFileSync(join(dir, 'client-key.pem'), 'KEY');
writeFileSync(
  file,
  `[profile.default]
address = "temporal.example:7233"
namespace = "jobs"

[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = "from-profile"

[profile.mtls]
address = "tls.example:7233"
[profile.mtls.tls]
client_cert_path = "${join(dir, 'client.pem')}"
client_key_path = "${join(dir, 'client-key.pem')}"
server_ca_cert_path = "${join(dir, 'ca.pem')}"
server_name = "temporal.internal"
`,
);
const text = (b: Uint8Array) => Buffer.from(b).toString();
const env = (more: Record<string, string> = {}) => ({ TEMPORAL_CONFIG_FILE: file, ...more });

describe('the Temporal connection', () => {
  it('is localhost:7233 and namespace default, in plain text, when nothing is set', () => {
    expect(temporalConnection({}, { TEMPORAL_CONFIG_FILE: join(dir, 'none.toml') })).toEqual({
      address: 'localhost:7233',
      namespace: 'default',
    });
  });

  it('comes from the default profile, with the variables over it and the flags over those', () => {
    expect(temporalConnection({}, env())).toEqual({ address: 'temporal.example:7233', namespace: 'jobs' });
    expect(temporalConnection({}, env({ TEMPORAL_NAMESPACE: 'other' })).namespace).toBe('other');
    expect(temporalConnection({ namespace: 'flag' }, env({ TEMPORAL_NAMESPACE: 'other' })).namespace).toBe('flag');
    expect(temporalConnection({ temporalAddress: 'h:1' }, env({ TEMPORAL_ADDRESS: 'v:2' })).address).toBe('h:1');
  });

  it('takes a named profile from TEMPORAL_PROFILE or --profile; an API key turns TLS on', () => {
    const cloud = temporalConnection({}, env({ TEMPORAL_PROFILE: 'cloud' }));
    expect(cloud).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      namespace: 'ns.acct',
      apiKey: 'from-profile',
      tls: true,
    });
    expect(temporalConnection({ profile: 'cloud', apiKey: 'flag-key' }, env()).apiKey).toBe('flag-key');
    expect(temporalConnection({ profile: 'cloud', tls: false }, env()).tls).toBe(false);
  });

  it('reads mTLS files from the profile, the variables or the flags', () => {
    const tls = temporalConnection({ profile: 'mtls' }, env()).tls;
    expect(tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
    const t = tls as { serverRootCACertificate: Uint8Array; clientCertPair: { crt: Uint8Array; key: Uint8Array } };
    expect([t.serverRootCACertificate, t.clientCertPair.crt, t.clientCertPair.key].map(text)).toEqual([
      'CA',
      'CERT',
      'KEY',
    ]);
    const fromEnv = temporalConnection(
      {},
      env({ TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'CA2', TEMPORAL_TLS_SERVER_NAME: 'n' }),
    ).tls as { serverRootCACertificate: Uint8Array; serverNameOverride: string };
    expect([text(fromEnv.serverRootCACertificate), fromEnv.serverNameOverride]).toEqual(['CA2', 'n']);
    const fromFlags = temporalConnection({ tlsCaPath: join(dir, 'client.pem') }, env()).tls as {
      serverRootCACertificate: Uint8Array;
    };
    expect(text(fromFlags.serverRootCACertificate)).toBe('CERT');
  });

  it('refuses a missing profile, an unreadable certificate or a certificate without its key as InvalidArgument', () => {
    expect(() => temporalConnection({ profile: 'nope' }, env())).toThrow(/Profile 'nope' not found/);
    expect(() => temporalConnection({ profile: 'nope' }, env())).toThrow(
      expect.objectContaining({ kind: 'InvalidArgument' }),
    );
    expect(() => temporalConnection({ tlsCaPath: join(dir, 'missing.pem') }, env())).toThrow(
      expect.objectContaining({ kind: 'InvalidArgument' }),
    );
    expect(() => temporalConnection({ tlsCertPath: join(dir, 'client.pem') }, env())).toThrow(/needs its key/);
  });
});
