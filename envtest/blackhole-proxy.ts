// A TCP proxy in front of the API server that a test can make misbehave as a network does:
// forward, hold (bytes wait and are delivered later, as behind a stalled link), or
// blackhole (bytes are dropped, sockets stay open, new connections are accepted and go
// nowhere: a half-open path with no RST, the failure a request timeout exists for). TLS
// passes through untouched, so the client still verifies the API server's certificate.
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'hold' | 'blackhole';

interface Connection {
  client: Socket;
  upstream: Socket;
  held: { to: Socket; data: Buffer }[];
  blackholed: boolean;
}

export class BlackholeProxy {
  private mode: ProxyMode = 'forward';
  private readonly connections = new Set<Connection>();
  /** What went through the proxy, for a test to wait on instead of sleeping. */
  readonly counts = { connections: 0, bytesHeld: 0, bytesDropped: 0 };

  private constructor(private readonly server: Server, readonly port: number, private readonly target: { host: string; port: number }) {}

  /** Listens on a free loopback port and forwards to the server URL's host and port. */
  static async start(serverUrl: string): Promise<BlackholeProxy> {
    const url = new URL(serverUrl);
    const target = { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    const proxy = new BlackholeProxy(server, typeof address === 'object' && address ? address.port : 0, target);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** The API server's URL as seen through the proxy. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  private accept(client: Socket): void {
    this.counts.connections++;
    const upstream = connect(this.target.port, this.target.host);
    const conn: Connection = { client, upstream, held: [], blackholed: this.mode === 'blackhole' };
    this.connections.add(conn);
    const end = () => {
      this.connections.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (data: Buffer) => this.pass(conn, upstream, data));
    upstream.on('data', (data: Buffer) => this.pass(conn, client, data));
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  }

  private pass(conn: Connection, to: Socket, data: Buffer): void {
    if (this.mode === 'forward') {
      to.write(data);
    } else if (this.mode === 'hold') {
      this.counts.bytesHeld += data.length;
      conn.held.push({ to, data });
    } else {
      this.counts.bytesDropped += data.length;
      conn.blackholed = true;
    }
  }

  /** Bytes are dropped from now on; nothing is closed. */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  /** Bytes wait from now on, and are delivered in order by forward(). */
  hold(): void {
    this.mode = 'hold';
  }

  /**
   * Forwards again: held bytes are delivered; a connection that lost bytes to the blackhole
   * is reset, since its TLS stream cannot continue (as a firewall that forgot it would).
   */
  forward(): void {
    this.mode = 'forward';
    for (const conn of [...this.connections]) {
      if (conn.blackholed) {
        conn.client.destroy();
        conn.upstream.destroy();
        continue;
      }
      for (const { to, data } of conn.held.splice(0)) to.write(data);
    }
  }

  async close(): Promise<void> {
    for (const conn of this.connections) {
      conn.client.destroy();
      conn.upstream.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}
