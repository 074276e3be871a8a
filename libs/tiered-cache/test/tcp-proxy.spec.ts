import net from 'node:net';
import { TcpProxy } from './tcp-proxy.js';
import { waitFor } from './wait-for.js';

/** An echo server on a free loopback port. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client socket that collects what it receives. */
async function connect(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let received = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('utf8');
    for (const waiter of waiters.splice(0)) waiter();
  });
  const closed = new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    let error: NodeJS.ErrnoException | undefined;
    socket.on('error', (err) => (error = err));
    socket.on('close', () => resolve(error));
  });
  /** Resolves once `text` has been received. */
  const receive = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => (received.includes(text) ? resolve() : waiters.push(check));
      check();
    });
  return { socket, receive, closed, received: () => received };
}

describe('TcpProxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: TcpProxy;

  beforeEach(async () => {
    echo = await echoServer();
    proxy = await TcpProxy.start(echo.port);
  });

  afterEach(async () => {
    await proxy.close();
    await echo.close();
  });

  it('forwards both ways', async () => {
    const client = await connect(proxy.port);
    client.socket.write('hello');
    await client.receive('hello');
    expect(proxy.connections).toBe(1);
    client.socket.destroy();
    await client.closed;
  });

  it('holds bytes while blackholed and delivers them after heal, sockets still open', async () => {
    const client = await connect(proxy.port);
    client.socket.write('one');
    await client.receive('one');
    proxy.blackhole();
    let healed = false;
    client.socket.write('two');
    const arrived = client.receive('two').then(() => healed);
    await waitFor(() => proxy.heldBytes === 3, 'the proxy holds the 3 bytes');
    expect(client.received()).toBe('one');
    expect(client.socket.destroyed).toBe(false);
    healed = true;
    proxy.heal();
    await expect(arrived).resolves.toBe(true);
    client.socket.destroy();
  });

  it('accepts new connections while blackholed and forwards them after heal', async () => {
    proxy.blackhole();
    const client = await connect(proxy.port);
    client.socket.write('late');
    await waitFor(() => proxy.heldBytes === 4, 'the proxy holds the 4 bytes');
    expect(client.received()).toBe('');
    proxy.heal();
    await client.receive('late');
    client.socket.destroy();
  });

  it('cut() resets open connections', async () => {
    const client = await connect(proxy.port);
    proxy.cut();
    const error = await client.closed;
    expect(error?.code).toBe('ECONNRESET');
    expect(proxy.connections).toBe(0);
    const again = await connect(proxy.port);
    again.socket.write('x');
    await again.receive('x');
    again.socket.destroy();
  });

  it('delay(ms) adds latency to each direction and keeps the order', async () => {
    const client = await connect(proxy.port);
    proxy.delay(40);
    const started = performance.now();
    client.socket.write('a');
    client.socket.write('b');
    await client.receive('ab');
    expect(performance.now() - started).toBeGreaterThanOrEqual(78);
    proxy.delay(0);
    client.socket.destroy();
  });

  it('close() closes every connection', async () => {
    const client = await connect(proxy.port);
    client.socket.write('ping');
    await client.receive('ping');
    await proxy.close();
    await client.closed;
    expect(proxy.connections).toBe(0);
    proxy = await TcpProxy.start(echo.port); // afterEach closes this one
  });
});
