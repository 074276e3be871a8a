import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { ReadFence } from './read-fence.js';

/**
 * A connection as the fence sees it: a socket that emits reads (a stand-in for ioredis's parser
 * listens first, as ioredis's does), the queue of commands waiting for an answer, and `ping`.
 */
function connection(options: { queue?: boolean } = {}) {
  const stream = new EventEmitter();
  const waiting: string[] = [];
  const answers: (() => void)[] = [];
  const conn = {
    status: 'ready',
    stream,
    ping: () => {
      waiting.push('ping');
      return new Promise<string>((resolve) => answers.push(() => resolve('PONG')));
    },
    ...(options.queue === false
      ? {}
      : {
          commandQueue: {
            get length() {
              return waiting.length;
            },
            peekAt: (i: number) =>
              waiting[i] === undefined ? undefined : { command: { name: waiting[i] } },
          },
        }),
  };
  // ioredis's parser: each read answers the first `n` commands waiting.
  let answering = 0;
  stream.on('data', () => {
    for (; answering > 0; answering--) {
      if (waiting.shift() === 'ping') answers.shift()!();
    }
  });
  const pings = () => waiting.filter((c) => c === 'ping').length;
  const read = (answered: number) => {
    answering = answered;
    stream.emit('data', Buffer.alloc(1));
  };
  return { conn: conn as unknown as Redis, waiting, read, pings };
}

describe('ReadFence', () => {
  it('sends its PING at the end of the read that leaves nothing but PINGs unanswered', () => {
    const c = connection();
    const fence = new ReadFence(c.conn);
    fence.watch();
    fence.answersDue(1);
    fence.answersDue(1);
    c.waiting.push('set', 'set', 'publish');
    c.read(1); // one answer of three: Redis still owes two
    expect(c.pings()).toBe(0);
    c.read(2); // the last answers
    expect(c.pings()).toBe(1);
    // Their callers run (the writes settle); a later read sends no other PING.
    fence.answersDue(-1);
    fence.answersDue(-1);
    c.read(0);
    expect(c.pings()).toBe(1);
  });

  it('sends none while a command other than a PING is unanswered, however many reads pass', () => {
    const c = connection();
    const fence = new ReadFence(c.conn);
    fence.watch();
    fence.answersDue(1);
    c.waiting.push('eval'); // a slow write
    for (let i = 0; i < 5; i++) c.read(0); // reads that bring none of its answer
    expect(c.pings()).toBe(0);
    c.read(1);
    expect(c.pings()).toBe(1);
  });

  it('sends none when no answer is due', () => {
    const c = connection();
    new ReadFence(c.conn).watch();
    c.waiting.push('get');
    c.read(1);
    expect(c.pings()).toBe(0);
  });

  it('shares the PING of the current read, and sends another once more was read', async () => {
    const c = connection();
    const fence = new ReadFence(c.conn);
    fence.watch();
    fence.answersDue(1);
    c.waiting.push('set');
    c.read(1);
    expect(c.pings()).toBe(1);
    const first = fence.fence();
    expect(fence.fence()).toBe(first);
    expect(c.pings()).toBe(1);
    c.read(1); // the PONG
    await first;
    const second = fence.fence();
    expect(second).not.toBe(first);
    expect(c.pings()).toBe(1);
  });

  it('without a visible command queue, reads send nothing and a caller still gets its PING', () => {
    const c = connection({ queue: false });
    const fence = new ReadFence(c.conn);
    fence.watch();
    fence.answersDue(1);
    c.waiting.push('set');
    expect(() => c.read(1)).not.toThrow();
    expect(c.pings()).toBe(0);
    void fence.fence();
    expect(c.pings()).toBe(1);
  });
});
