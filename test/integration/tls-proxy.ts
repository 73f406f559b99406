// A TLS-terminating gRPC proxy for the TLS / mTLS / API-key tests: the dev server speaks only plain
// h2c, so this puts a node:http2 TLS front (optionally demanding a client cert or an API key) before it
// and relays each gRPC call, trailers included, over one h2c session to the real frontend.
import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface TlsProxyOptions {
  /** host:port of a plain (h2c) Temporal frontend. */
  upstream: string;
  /** PEM file paths: the server's cert and key, and the CA that client certs must chain to. */
  cert: string;
  key: string;
  ca: string;
  /** Refuse the TLS handshake without a client cert signed by `ca`. Default true. */
  requireClientCert?: boolean;
  /** When set, calls without `authorization: Bearer <apiKey>` end UNAUTHENTICATED here. */
  apiKey?: string;
}

export interface ProxiedCall {
  path: string;
  authorization?: string;
  clientCertCN?: string;
  /** Whether the client's cert verified against `ca`. */
  authorized: boolean;
}

export interface TlsProxy {
  /** 127.0.0.1:<ephemeral port>. */
  address: string;
  calls: ProxiedCall[];
  handshakeErrors: string[];
  close(): Promise<void>;
}

const UNAVAILABLE = '14';
const UNAUTHENTICATED = '16';
// Per-hop headers that HTTP/2 forbids (node throws on them) or that belong to one connection only.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** Headers fit to send on: no hop-by-hop ones, and no pseudo headers but those in `keep`. */
function relayable(headers: http2.IncomingHttpHeaders, keep: string[]): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || (name.startsWith(':') && !keep.includes(name))) continue;
    out[name] = value;
  }
  return out;
}

const grpcStatus = (code: string, message: string): http2.OutgoingHttpHeaders => ({
  'grpc-status': code,
  'grpc-message': encodeURIComponent(message), // grpc-message is percent-encoded
});

export async function startTlsProxy(opts: TlsProxyOptions): Promise<TlsProxy> {
  const requireClientCert = opts.requireClientCert ?? true;
  const [cert, key, ca] = await Promise.all([readFile(opts.cert), readFile(opts.key), readFile(opts.ca)]);
  const calls: ProxiedCall[] = [];
  const handshakeErrors: string[] = [];
  const sessions = new Set<http2.Http2Session>();

  const server = http2.createSecureServer({
    cert,
    key,
    ca,
    requestCert: true, // even when optional, so a presented cert's CN gets recorded
    rejectUnauthorized: requireClientCert,
    ALPNProtocols: ['h2'],
    allowHTTP1: false,
  });
  // A rejected client cert surfaces only as "socket hang up"; the socket still knows why.
  server.on('tlsClientError', (err, socket) =>
    handshakeErrors.push(socket.authorizationError ? `${err.message}: ${socket.authorizationError}` : err.message),
  );
  server.on('unknownProtocol', (socket) => {
    handshakeErrors.push('client did not negotiate h2 via ALPN');
    socket.destroy();
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {}); // its streams report; don't crash the test run
  });

  // One shared h2c session upstream, replaced once it has closed or failed.
  let upstream: http2.ClientHttp2Session | undefined;
  const upstreamSession = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      const session = http2.connect(`http://${opts.upstream}`);
      session.on('error', () => {}); // a connect error reaches each stream too, which answers UNAVAILABLE
      sessions.add(session);
      session.on('close', () => {
        sessions.delete(session);
        if (upstream === session) upstream = undefined;
      });
      upstream = session;
    }
    return upstream;
  };

  server.on('stream', (stream, headers) => {
    stream.on('error', () => {}); // a client reset or a write after close; the 'close' below cleans up
    const socket = stream.session?.socket as TLSSocket | undefined;
    const cn = socket?.getPeerCertificate().subject?.CN; // {} when no cert was presented
    const authorization = headers.authorization;
    calls.push({
      path: String(headers[':path']),
      authorization,
      clientCertCN: Array.isArray(cn) ? cn.join(',') : cn,
      authorized: socket?.authorized ?? false,
    });

    const trailersOnly = (status: http2.OutgoingHttpHeaders) =>
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...status }, { endStream: true });

    if (opts.apiKey !== undefined && authorization !== `Bearer ${opts.apiKey}`) {
      trailersOnly(grpcStatus(UNAUTHENTICATED, authorization ? 'invalid API key' : 'missing API key'));
      return;
    }

    let req: http2.ClientHttp2Stream;
    try {
      req = upstreamSession().request(relayable(headers, [':method', ':path', ':authority']));
    } catch (err) {
      trailersOnly(grpcStatus(UNAVAILABLE, `proxy: ${(err as Error).message}`));
      return;
    }

    // The trailers to end the downstream stream with, once decided: upstream's, or an error status.
    let trailers: http2.OutgoingHttpHeaders | undefined;
    let wantsTrailers = false;
    let trailersSent = false;
    const sendTrailers = () => {
      if (trailersSent || !trailers || !wantsTrailers || stream.destroyed) return;
      trailersSent = true;
      stream.sendTrailers(trailers);
    };
    // An upstream fault: UNAVAILABLE, as a trailers-only answer or, after headers went out, as trailers.
    const fail = (message: string) => {
      if (trailers || stream.destroyed) return;
      trailers = grpcStatus(UNAVAILABLE, `proxy: upstream ${opts.upstream}: ${message}`);
      if (!stream.headersSent) return trailersOnly(trailers);
      req.unpipe(stream);
      if (wantsTrailers) sendTrailers();
      else stream.end(); // -> 'wantTrailers'
    };

    stream.pipe(req);
    req.on('response', (resHeaders, flags) => {
      if (stream.destroyed) return;
      const out = relayable(resHeaders, [':status']);
      // Trailers-only (grpc-status already here, END_STREAM set): answer the same way, no trailers.
      if (resHeaders['grpc-status'] !== undefined || flags & http2.constants.NGHTTP2_FLAG_END_STREAM) {
        if (resHeaders['grpc-status'] === undefined)
          Object.assign(out, grpcStatus(UNAVAILABLE, 'proxy: no grpc-status'));
        trailers = out;
        stream.respond(out, { endStream: true });
        return;
      }
      stream.respond(out, { waitForTrailers: true });
      req.pipe(stream); // ending it fires 'wantTrailers'
    });
    req.on('trailers', (resTrailers) => {
      if (trailers) return;
      trailers = relayable(resTrailers, []);
      sendTrailers();
    });
    stream.on('wantTrailers', () => {
      wantsTrailers = true;
      sendTrailers();
    });
    req.on('error', (err) => fail(err.message));
    req.on('close', () => fail(`stream closed without trailers (RST code ${req.rstCode})`));
    // The client went away (cancel, deadline, disconnect): stop the upstream call, e.g. a long poll.
    stream.on('close', () => {
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${port}`,
    calls,
    handshakeErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve()); // resolves once the sessions destroyed below are gone
        for (const session of sessions) session.destroy();
        upstream = undefined;
      }),
  };
}
