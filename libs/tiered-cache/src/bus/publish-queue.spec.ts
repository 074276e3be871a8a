import type { BusInvalidation } from './bus-message.js';
import { PublishQueue } from './publish-queue.js';

/** A queue whose sends are recorded, and fail while `failing` is set. */
function queue(options: { maxQueued?: number } = {}) {
  const sent: BusInvalidation[] = [];
  const state = { failing: false };
  const q = new PublishQueue({
    maxQueued: options.maxQueued ?? 100,
    clearPrefix: 'ns:',
    send: async (invalidation) => {
      if (state.failing) throw new Error('not reachable');
      sent.push(invalidation);
    },
    onFailure: () => undefined,
  });
  return { q, sent, state };
}

describe('PublishQueue', () => {
  it('gives the callers of one batch one promise, settled by that batch’s attempt', async () => {
    const { q, sent } = queue();
    const first = q.add({ kind: 'keys', keys: ['ns:a'] });
    const second = q.add({ kind: 'keys', keys: ['ns:b'] }, true);
    expect(second).toBe(first);
    await first;
    expect(sent).toEqual([{ kind: 'keys', keys: ['ns:a', 'ns:b'] }]);
    const next = q.add({ kind: 'tags', tags: ['ns:t'] });
    expect(next).not.toBe(first);
    await next;
    expect(sent).toHaveLength(2);
    expect(q.stats.sent).toBe(2);
    await q.close();
  });

  it('settles the batch’s promise when its attempt fails, and retries it in the background', async () => {
    const { q, sent, state } = queue();
    state.failing = true;
    await q.add({ kind: 'keys', keys: ['ns:a'] });
    expect(q.stats.failures).toBe(1);
    expect(q.size).toBe(1);
    state.failing = false;
    q.retryNow();
    await q.add({ kind: 'keys', keys: ['ns:b'] });
    expect(sent).toEqual([{ kind: 'keys', keys: ['ns:a', 'ns:b'] }]);
    expect(q.size).toBe(0);
    await q.close();
  });

  it('folds into one clear of the namespace past maxQueued', async () => {
    const { q, sent } = queue({ maxQueued: 2 });
    void q.add({ kind: 'keys', keys: ['ns:a', 'ns:b'] });
    await q.add({ kind: 'keys', keys: ['ns:c'] });
    expect(sent).toEqual([{ kind: 'clear', prefix: 'ns:' }]);
    expect(q.stats.overflows).toBe(1);
    await q.close();
  });

  it('settles what is added after close at once, and sends nothing more', async () => {
    const { q, sent } = queue();
    await q.close();
    await q.add({ kind: 'keys', keys: ['ns:a'] });
    expect(sent).toEqual([]);
  });
});
