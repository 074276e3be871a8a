import net from 'node:net';

/** One accepted client and its upstream connection, with the bytes held back for each. */
interface Link {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  /** Chunks waiting for their delay (or for the partition to heal), per direction. */
  readonly toUpstream: Delayed[];
  readonly toClient: Delayed[];
  timer: NodeJS.Timeout | undefined;
  /** One side closed while the network was held: the other side learns it on heal. */
  closing: boolean;
}

interface Delayed {
  readonly due: number;
  readonly chunk: Buffer;
}

/**
 * A TCP proxy on a free loopback port that forwards every connection to `127.0.0.1:<target>`, and
 * can misbehave on demand like a network: `blackhole()` stops forwarding without closing anything
 * (bytes wait, as TCP would retransmit them; new connections are accepted but not forwarded),
 * `heal()` resumes, `cut()` resets every connection, `delay(ms)` adds latency to each direction,
 * `holdReplies()` stops forwarding only what the server sends (until `heal()`).
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private holding = false;
  private holdingReplies = false;
  private latencyMs = 0;

  private constructor(
    private readonly server: net.Server,
    /** The port the proxy listens on. */
    readonly port: number,
    /** The port it forwards to. */
    readonly target: number,
  ) {}

  /** Starts a proxy to `127.0.0.1:<target>`. */
  static async start(target: number): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port, target);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Client connections currently open through the proxy. */
  get connections(): number {
    return this.links.size;
  }

  /** Bytes read from either side and not yet written to the other (held or delayed). */
  get heldBytes(): number {
    let total = 0;
    for (const link of this.links)
      for (const { chunk } of [...link.toUpstream, ...link.toClient]) total += chunk.length;
    return total;
  }

  /** Stops forwarding in both directions; sockets stay open and bytes wait. */
  blackhole(): void {
    this.holding = true;
  }

  /** Stops forwarding what the server sends to clients; what clients send still goes through. */
  holdReplies(): void {
    this.holdingReplies = true;
  }

  /**
   * While replies are held ({@link holdReplies}), forwards `share` (0 to 1) of what each connection
   * has held for its client, from the start (a chunk is split when needed), and keeps holding the
   * rest.
   */
  releaseReplies(share: number): void {
    for (const link of this.links) {
      let left = Math.floor(
        link.toClient.reduce((sum, { chunk }) => sum + chunk.length, 0) * share,
      );
      while (left > 0 && link.toClient.length > 0) {
        const head = link.toClient[0]!;
        const part = head.chunk.subarray(0, left);
        if (part.length === head.chunk.length) link.toClient.shift();
        else link.toClient[0] = { due: head.due, chunk: head.chunk.subarray(left) };
        link.client.write(part);
        left -= part.length;
      }
    }
  }

  /** Forwards again, including everything held back, and connects held new clients. */
  heal(): void {
    this.holding = false;
    this.holdingReplies = false;
    for (const link of [...this.links]) {
      if (link.closing) this.drop(link, false);
      else if (link.upstream === undefined) this.connectUpstream(link);
      else this.pump(link);
    }
  }

  /** Resets every open connection (clients see ECONNRESET); new ones are still accepted. */
  cut(): void {
    for (const link of [...this.links]) this.drop(link, true);
  }

  /** Delays every chunk by `ms` in each direction from now on (0 removes the delay). */
  delay(ms: number): void {
    this.latencyMs = ms;
  }

  /** Closes the listener and every connection; resolves once the listener is closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const link of [...this.links]) this.drop(link, false);
    await closed;
  }

  private accept(client: net.Socket): void {
    const link: Link = {
      client,
      upstream: undefined,
      toUpstream: [],
      toClient: [],
      timer: undefined,
      closing: false,
    };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => this.enqueue(link, link.toUpstream, chunk));
    client.on('error', () => this.closeSide(link));
    client.on('close', () => this.closeSide(link));
    if (!this.holding) this.connectUpstream(link);
  }

  private connectUpstream(link: Link): void {
    const upstream = net.connect({ port: this.target, host: '127.0.0.1' });
    link.upstream = upstream;
    upstream.on('connect', () => this.pump(link));
    upstream.on('data', (chunk: Buffer) => this.enqueue(link, link.toClient, chunk));
    upstream.on('error', () => this.closeSide(link));
    upstream.on('close', () => this.closeSide(link));
  }

  private enqueue(link: Link, queue: Delayed[], chunk: Buffer): void {
    queue.push({ due: performance.now() + this.latencyMs, chunk });
    this.pump(link);
  }

  /** Writes every chunk whose delay has passed, unless the network is held; re-arms the timer. */
  private pump(link: Link): void {
    if (link.timer !== undefined) clearTimeout(link.timer);
    link.timer = undefined;
    if (this.holding || !this.links.has(link)) return;
    const now = performance.now();
    let next = Infinity;
    const upstreamReady = link.upstream !== undefined && !link.upstream.connecting;
    if (upstreamReady) next = Math.min(next, flush(link.toUpstream, link.upstream!, now));
    if (!this.holdingReplies) next = Math.min(next, flush(link.toClient, link.client, now));
    if (next !== Infinity)
      link.timer = setTimeout(() => this.pump(link), Math.max(1, Math.ceil(next - now)));
  }

  /** A side closed: the other is closed too, once the network is not held any more. */
  private closeSide(link: Link): void {
    if (this.holding) link.closing = true;
    else this.drop(link, false);
  }

  private drop(link: Link, reset: boolean): void {
    if (!this.links.delete(link)) return;
    if (link.timer !== undefined) clearTimeout(link.timer);
    for (const socket of [link.client, link.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}

/** Writes the chunks of `queue` that are due; returns when the next one is due (or Infinity). */
function flush(queue: Delayed[], socket: net.Socket, now: number): number {
  while (queue.length > 0) {
    const head = queue[0]!;
    if (head.due > now) return head.due;
    queue.shift();
    socket.write(head.chunk);
  }
  return Infinity;
}
