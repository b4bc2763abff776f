import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that a test can cut, stall and restore, to take PostgreSQL or Redis away
 * from a running server and bring it back, without touching the real service.
 */
export interface TcpProxy {
  port: number;
  /** Closes every connection and refuses new ones, as a stopped server does. */
  cut(): Promise<void>;
  /**
   * Holds every byte in both directions and accepts connections without answering, as a network
   * that drops packets does; `restore()` delivers what was held.
   */
  stall(): void;
  restore(): Promise<void>;
  /** New connections go to `next` from now on; open ones stay (a load balancer taking a replica out). */
  retarget(next: { host: string; port: number }): void;
  close(): Promise<void>;
}

interface Pair {
  incoming: Socket;
  outgoing: Socket;
}

export async function startTcpProxy(first: { host: string; port: number }): Promise<TcpProxy> {
  let target = first;
  const pairs = new Set<Pair>();
  let server: Server | undefined;
  let port = 0;
  let stalled = false;

  const flow = ({ incoming, outgoing }: Pair) => {
    incoming.pipe(outgoing);
    outgoing.pipe(incoming);
  };
  const hold = ({ incoming, outgoing }: Pair) => {
    incoming.unpipe(outgoing);
    outgoing.unpipe(incoming);
    incoming.pause();
    outgoing.pause();
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((incoming) => {
        const pair = { incoming, outgoing: createConnection(target) };
        pairs.add(pair);
        // One side gone ends the other: a held (paused) socket would never see its peer's end by
        // itself, and would keep the proxy's close() waiting forever.
        const end = () => {
          pairs.delete(pair);
          pair.incoming.destroy();
          pair.outgoing.destroy();
        };
        for (const socket of [pair.incoming, pair.outgoing]) {
          socket.on('close', end);
          socket.on('error', end);
        }
        if (stalled) hold(pair);
        else flow(pair);
      });
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        port = (next.address() as { port: number }).port;
        server = next;
        resolve();
      });
    });

  const cut = async () => {
    const closing = server;
    server = undefined;
    stalled = false;
    for (const { incoming, outgoing } of pairs) {
      incoming.destroy();
      outgoing.destroy();
    }
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  const stall = () => {
    stalled = true;
    for (const pair of pairs) hold(pair);
  };

  const restore = async () => {
    if (stalled) {
      stalled = false;
      for (const pair of pairs) flow(pair);
    }
    if (!server) await listen();
  };

  await listen();
  const retarget = (next: { host: string; port: number }) => {
    target = next;
  };
  return { port, cut, stall, restore, retarget, close: cut };
}
