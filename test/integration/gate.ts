// A gate before the stack's registry: a TCP proxy on the port Podman trusts as a second registry
// (PODMAN_TRACKER_GATED_REGISTRY), holding every connection until the test opens it. An image pulled
// through it is a pull that lasts exactly as long as the test wants.
import { connect, createServer, type Socket } from 'node:net';
import { requireEnv } from '../helpers.js';

export interface RegistryGate {
  /** The stack's pull image, named through the gate. */
  readonly image: string;
  /** Resolves at the first connection: a pull is waiting at the gate. */
  readonly reached: Promise<void>;
  open(): void;
  close(): Promise<void>;
}

export async function registryGate(): Promise<RegistryGate> {
  const gated = requireEnv('PODMAN_TRACKER_GATED_REGISTRY');
  const [upHost, upPort] = requireEnv('PODMAN_TRACKER_REGISTRY').split(':') as [string, string];
  const pull = requireEnv('PODMAN_TRACKER_PULL_IMAGE');
  const image = `${gated}${pull.slice(pull.indexOf('/'))}`;
  const held: Socket[] = [];
  const sockets = new Set<Socket>();
  let isOpen = false;
  let reach!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const pipe = (down: Socket) => {
    const up = connect(Number(upPort), upHost);
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    down.pipe(up).pipe(down);
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
  };
  const server = createServer((down) => {
    sockets.add(down);
    down.on('close', () => sockets.delete(down));
    down.on('error', () => undefined);
    reach();
    if (isOpen) pipe(down);
    else held.push(down);
  });
  const [host, port] = gated.split(':') as [string, string];
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), host, resolve);
  });
  return {
    image,
    reached,
    open() {
      isOpen = true;
      for (const s of held.splice(0)) pipe(s);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
