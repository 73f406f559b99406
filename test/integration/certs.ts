// Throwaway X.509 material for the TLS / mTLS tests, made with the openssl CLI: a CA with a server and a
// client leaf, and an unrelated CA with its own client leaf. All v3 with explicit basicConstraints,
// keyUsage and extendedKeyUsage (webpki in Temporal's Rust core rejects v1 certs and CA certs as leafs),
// and EC P-256 keys in PKCS#8 PEM (what both rustls and Node load).
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL = '/usr/bin/openssl';

export interface Certs {
  dir: string;
  ca: string;
  caKey: string;
  server: string;
  serverKey: string;
  /** CN `podman-tracker-test-client`, signed by `ca`. */
  client: string;
  clientKey: string;
  /** A CA that signed nothing the proxy trusts. */
  wrongCa: string;
  wrongCaKey: string;
  /** Same CN as `client`, but signed by `wrongCa`. */
  wrongClient: string;
  wrongClientKey: string;
}

export const CLIENT_CN = 'podman-tracker-test-client';

// Sections for -extfile; the leaf request (CSR) carries no extensions of its own.
const EXTENSIONS = `
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

export async function makeCerts(dir: string): Promise<Certs> {
  dir = resolve(dir);
  const p = (name: string) => join(dir, name);
  const extfile = p('extensions.cnf');
  await writeFile(extfile, EXTENSIONS);

  // genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), unlike ecparam -genkey's SEC1.
  const key = (path: string) =>
    run(OPENSSL, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);

  // Self-signed via a CSR + `x509 -req -signkey` so the extensions come only from our extfile, not
  // from whatever the system openssl.cnf puts in `req -x509`.
  async function ca(name: string, cn: string) {
    await key(p(`${name}-key.pem`));
    await run(OPENSSL, ['req', '-new', '-key', p(`${name}-key.pem`), '-subj', `/CN=${cn}`, '-out', p(`${name}.csr`)]);
    await run(OPENSSL, [
      'x509', '-req', '-in', p(`${name}.csr`), '-signkey', p(`${name}-key.pem`), '-sha256', '-days', '2',
      '-extfile', extfile, '-extensions', 'ca', '-out', p(`${name}.pem`),
    ]); // prettier-ignore
  }

  async function leaf(name: string, cn: string, issuer: string, section: 'server' | 'client') {
    await key(p(`${name}-key.pem`));
    await run(OPENSSL, ['req', '-new', '-key', p(`${name}-key.pem`), '-subj', `/CN=${cn}`, '-out', p(`${name}.csr`)]);
    await run(OPENSSL, [
      'x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${issuer}.pem`), '-CAkey', p(`${issuer}-key.pem`),
      '-sha256', '-days', '2', '-extfile', extfile, '-extensions', section, '-out', p(`${name}.pem`),
    ]); // prettier-ignore
  }

  await ca('ca', 'podman-tracker test CA');
  await ca('wrong-ca', 'podman-tracker wrong CA');
  await leaf('server', 'localhost', 'ca', 'server');
  await leaf('client', CLIENT_CN, 'ca', 'client');
  await leaf('wrong-client', CLIENT_CN, 'wrong-ca', 'client');
  await rm(extfile);
  for (const name of ['ca', 'wrong-ca', 'server', 'client', 'wrong-client']) await rm(p(`${name}.csr`));

  return {
    dir,
    ca: p('ca.pem'),
    caKey: p('ca-key.pem'),
    server: p('server.pem'),
    serverKey: p('server-key.pem'),
    client: p('client.pem'),
    clientKey: p('client-key.pem'),
    wrongCa: p('wrong-ca.pem'),
    wrongCaKey: p('wrong-ca-key.pem'),
    wrongClient: p('wrong-client.pem'),
    wrongClientKey: p('wrong-client-key.pem'),
  };
}
