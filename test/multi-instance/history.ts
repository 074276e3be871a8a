import type { CacheWorker, WorkerRequest } from './cache-worker.js';
import { now } from './cache-worker.js';
import type { HistoryEvent } from './read-checker.js';

/** A key of a test's key set and the tags every write of it carries (fixed, so tag deletes are). */
export interface KeySpec {
  readonly key: string;
  readonly tags: readonly string[];
}

/** The operations a history records (stats and clock are not operations on keys). */
export type KeyOp = Exclude<WorkerRequest, { op: 'stats' } | { op: 'clock' }>;

/**
 * Runs operations on workers and records them as per-key events for the read checker: a pattern,
 * tag or clear invalidation becomes a delete of every key of the key set it covers, a `getOrSet`
 * whose factory ran becomes a miss and an optional write of its value, one that did not a read. An operation that
 * failed or got no answer may still take effect at any time: it is recorded with an unknown end
 * (Infinity) from the moment it was sent, and it rethrows. Writes carry the tags of their key.
 */
export class History {
  readonly events: HistoryEvent[] = [];
  private readonly tagsOf: ReadonlyMap<string, readonly string[]>;

  constructor(readonly keys: readonly KeySpec[]) {
    this.tagsOf = new Map(keys.map((spec) => [spec.key, spec.tags]));
  }

  /** Runs `request` on `worker`, records it, and returns the worker's answer. */
  async run(worker: CacheWorker, request: KeyOp): Promise<{ begin: number; end: number }> {
    const sent = now();
    const withTags =
      request.op === 'set' || request.op === 'getOrSet'
        ? { ...request, tags: [...this.tags(request.key)] }
        : request;
    let reply;
    try {
      reply = await worker.request(withTags);
    } catch (err) {
      this.record(worker.name, request, undefined, sent, Infinity);
      throw err;
    }
    this.record(worker.name, request, reply.result, reply.begin, reply.end);
    return reply;
  }

  /** Reads `key` on `worker` and returns the value (undefined for a miss). */
  async get(worker: CacheWorker, key: string): Promise<string | undefined> {
    const reply = await worker.request({ op: 'get', key });
    this.record(worker.name, { op: 'get', key }, reply.result, reply.begin, reply.end);
    return reply.result.found ? reply.result.value : undefined;
  }

  /** The keys of the key set an invalidation covers. */
  covered(request: KeyOp): string[] {
    switch (request.op) {
      case 'delete':
        return [request.key];
      case 'deletePattern': {
        const pattern = globToRegExp(request.pattern);
        return this.keys.map((k) => k.key).filter((key) => pattern.test(key));
      }
      case 'deleteByTag':
        return this.keys
          .filter((k) => k.tags.some((tag) => request.tags.includes(tag)))
          .map((k) => k.key);
      case 'clear':
        return this.keys.map((k) => k.key);
      default:
        return [];
    }
  }

  private tags(key: string): readonly string[] {
    const tags = this.tagsOf.get(key);
    if (tags === undefined) throw new Error(`key ${key} is not in the history's key set`);
    return tags;
  }

  private record(
    worker: string,
    request: KeyOp,
    result: unknown,
    begin: number,
    end: number,
  ): void {
    const at = { begin, end, worker, op: describe(request) };
    switch (request.op) {
      case 'get': {
        if (result === undefined) return; // unanswered: nothing was read
        const { found, value } = result as { found: boolean; value?: string };
        this.events.push({
          kind: 'read',
          key: request.key,
          value: found ? value : undefined,
          ...at,
        });
        return;
      }
      case 'set':
        this.events.push({ kind: 'write', key: request.key, value: request.value, ...at });
        return;
      case 'getOrSet': {
        const answer = result as { value: string; computed: boolean } | undefined;
        // Unanswered, it may have stored its value; answered, only if it computed it, after a
        // miss (which a run that can lose nothing checks too). Either way the cache may decline
        // to store a computed value (something changed meanwhile): an optional write.
        if (answer === undefined || answer.computed)
          this.events.push({
            kind: 'write',
            key: request.key,
            value: request.value,
            optional: true,
            ...at,
          });
        if (answer?.computed === true)
          this.events.push({ kind: 'read', key: request.key, value: undefined, ...at });
        if (answer?.computed === false)
          this.events.push({ kind: 'read', key: request.key, value: answer.value, ...at });
        return;
      }
      default:
        for (const key of this.covered(request)) this.events.push({ kind: 'delete', key, ...at });
    }
  }
}

/** `delete(k)`, `deletePattern(p)`, `deleteByTag(t)`, `clear`, `set(k)`, ... for messages. */
function describe(request: KeyOp): string {
  switch (request.op) {
    case 'deletePattern':
      return `deletePattern(${request.pattern})`;
    case 'deleteByTag':
      return `deleteByTag(${request.tags.join(',')})`;
    default:
      return request.op;
  }
}

/** A Redis glob with `*` and `?` only (enough for the tests' key sets) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  if (/[[\]\\]/.test(glob)) throw new Error(`glob ${glob}: only * and ? are supported here`);
  const source = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's');
}
