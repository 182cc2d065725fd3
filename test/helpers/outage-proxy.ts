/**
 * A TCP proxy in front of PostgreSQL that simulates its outage: the machine's cluster is shared by tests running at
 * the same time, so it cannot really be stopped. A server whose DATABASE_URL points at the proxy sees the database
 * go away and come back exactly as over a network, in one of three ways:
 *
 * - `refuse`: the database is stopped on a live host. Open connections are reset (RST), new ones refused
 *   (ECONNREFUSED: nothing listens on the port).
 * - `blackhole`: open connections are closed; new ones are accepted but never answered (a hung server, a firewall
 *   that swallows the handshake's answer).
 * - `freeze`: the network is cut or the host powered off. Open connections stay open but carry nothing either way,
 *   without any FIN or RST; new ones are accepted but never answered.
 *
 * `restore` forwards again. Connections held during the outage are destroyed then, as a healed network lets both
 * ends learn that the other gave up: PostgreSQL rolls back what a frozen connection left open and frees its locks.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type OutageMode = 'refuse' | 'blackhole' | 'freeze';

export interface OutageProxy {
  readonly port: number;
  /** The database "stops". */
  cut(mode: OutageMode): Promise<void>;
  /** The database is back: the proxy forwards new connections again. */
  restore(): Promise<void>;
  /** Connections accepted during the current or last outage (black-holed ones). */
  heldDuringOutage(): number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  frozen: boolean;
}

const ignore = (): void => undefined;

export async function startOutageProxy(target: { host: string; port: number }): Promise<OutageProxy> {
  let mode: OutageMode | null = null;
  const pairs = new Set<Pair>();
  const held = new Set<Socket>();
  let heldCount = 0;

  const forward = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, frozen: false };
    pairs.add(pair);
    upstream.on('error', ignore);
    const link = (from: Socket, to: Socket) => {
      // Frozen: bytes are lost as on a cut cable, and a close does not travel either.
      from.on('data', (chunk: Buffer) => {
        if (!pair.frozen) to.write(chunk);
      });
      from.on('end', () => {
        if (!pair.frozen) to.end();
      });
      from.on('close', () => {
        if (!pair.frozen) to.destroy();
        if (client.destroyed && upstream.destroyed) pairs.delete(pair);
      });
    };
    link(client, upstream);
    link(upstream, client);
  };

  const onConnection = (client: Socket) => {
    client.on('error', ignore);
    if (mode === null) {
      forward(client);
      return;
    }
    if (mode === 'refuse') {
      // Only a connection that raced the listener's close gets here.
      client.resetAndDestroy();
      return;
    }
    heldCount += 1;
    held.add(client);
    client.on('close', () => held.delete(client));
    // Read and drop whatever the client sends (the startup message), never answer.
    client.resume();
  };

  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server);
      });
    });

  let server: Server | null = await listen(0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  const port = address.port;

  const stopListening = () => {
    // Closing the listening socket is immediate; the callback would wait for the accepted connections.
    server?.close();
    server = null;
  };

  return {
    port,
    cut(next) {
      if (mode !== null) return Promise.reject(new Error(`already cut (${mode})`));
      mode = next;
      heldCount = 0;
      for (const pair of pairs) {
        if (next === 'freeze') {
          pair.frozen = true;
        } else {
          if (next === 'refuse') pair.client.resetAndDestroy();
          else pair.client.destroy();
          pair.upstream.destroy();
          pairs.delete(pair);
        }
      }
      if (next === 'refuse') stopListening();
      return Promise.resolve();
    },
    async restore() {
      if (mode === null) throw new Error('not cut');
      for (const pair of pairs) {
        if (!pair.frozen) continue;
        pair.client.destroy();
        pair.upstream.destroy();
        pairs.delete(pair);
      }
      for (const socket of held) socket.destroy();
      held.clear();
      mode = null;
      server ??= await listen(port);
    },
    heldDuringOutage: () => heldCount,
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      for (const socket of held) socket.destroy();
      held.clear();
      const closing = server;
      server = null;
      if (closing !== null) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}
