// Why a TLS connection to Temporal fails. grpc-js reports a refused handshake only as "Failed to
// connect before the deadline"; one TLS handshake of Node's own, with the same certificates, names
// the cause (an untrusted server certificate, a wrong server name, a client certificate the server
// wants or refuses).
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { TemporalConnection } from './connection.js';

const UNTRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** host and port of `host:port` or `[v6]:port`. */
function hostPort(address: string): { host: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: address, port: 443 };
}

const pem = (b: Uint8Array | undefined) => (b ? Buffer.from(b) : undefined);

/** Explains a failed TLS connection in a few words, or undefined when a handshake of its own succeeds. */
export function tlsFailure(c: TemporalConnection, timeoutMs = 5_000): Promise<string | undefined> {
  const tls = typeof c.tls === 'object' ? c.tls : {};
  const { host, port } = hostPort(c.address);
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({
      host,
      port,
      servername: tls.serverNameOverride ?? (isIP(host) ? undefined : host),
      ca: pem(tls.serverRootCACertificate),
      cert: pem(tls.clientCertPair?.crt),
      key: pem(tls.clientCertPair?.key),
      ALPNProtocols: ['h2'],
    });
    const done = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code && UNTRUSTED.has(err.code)) {
        done(
          `TLS: the server's certificate is not trusted: ${err.message}; check the server CA certificate and server name`,
        );
      } else if (/alert certificate required|peer did not return a certificate/i.test(err.message)) {
        done('TLS: the server requires a client certificate');
      } else if (/alert (bad|unknown|unsupported) certificate|unknown ca|decrypt error/i.test(err.message)) {
        done(`TLS: the server refused the client certificate: ${err.message}`);
      } else {
        done(`TLS: ${err.message}`);
      }
    });
    // TLS 1.3 servers judge the client's certificate after the handshake: an alert may follow it.
    socket.once('secureConnect', () => setTimeout(() => done(undefined), 500));
    socket.resume();
  });
}
