// A counting proxy in front of Podman's API socket: every HTTP request the worker sends is counted
// at the socket, whatever client library made it.
import { createConnection, createServer, type Server } from 'node:net';
import { rm } from 'node:fs/promises';

const REQUEST_LINE = /(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]\r\n/g;

export interface CountingProxy {
  readonly socketPath: string;
  /** Requests seen since the last reset, by "METHOD /path-without-ids". */
  counts(): Map<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function startProxy(socketPath: string, upstream: string): Promise<CountingProxy> {
  await rm(socketPath, { force: true });
  let counts = new Map<string, number>();
  const server: Server = createServer((client) => {
    const up = createConnection(upstream);
    let carry = '';
    client.on('data', (chunk: Buffer) => {
      // Request lines only appear in what the client sends; a body may split one across chunks.
      const text = carry + chunk.toString('latin1');
      for (const m of text.matchAll(REQUEST_LINE)) {
        if (m.index + m[0].length <= carry.length) continue; // counted with the previous chunk
        const path = m[2]!.split('?')[0]!.replace(/\/[0-9a-f]{64}|\/podman-tracker-[^/]+/g, '/:id');
        const key = `${m[1]} ${path}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      carry = text.slice(-64);
    });
    client.pipe(up).pipe(client);
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', end);
    up.on('error', end);
    client.on('close', end);
    up.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    counts: () => new Map(counts),
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => {
      counts = new Map();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
