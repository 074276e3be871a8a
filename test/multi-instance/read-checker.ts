/**
 * The read checker of the multi-instance tests: given every operation of a run (from all
 * processes, on one shared clock), it decides for each read whether the value it returned was the
 * latest written value of its key at some moment during the read.
 *
 * The model is a register per key. Every write stores a value no other write stores, a delete
 * stores "absent", and the key starts absent. An operation takes effect at one instant somewhere
 * inside its [begin, end] (as measured, which contains the real call), so:
 * - an operation whose interval overlaps the read's may or may not be visible to it;
 * - once an operation X has ended, every operation Y that began after X ended takes effect after X.
 *
 * A read that returned the value of write W is legal unless
 * - no write stored that value on that key (`unknown-value`),
 * - W began after the read ended (`not-yet-written`), or
 * - some write or delete O of the key began after W ended and ended before the read began
 *   (`superseded`): O certainly replaced W before the read started. An optional write (the store
 *   of a value `getOrSet` computed, which the cache may decline) is never such an O: it may not
 *   have happened.
 * Each read is judged on its own, against the operations only: what another read saw is not taken
 * as proof that a write in progress took effect (a writer's own L1 shows its value before Redis
 * has it, and the library promises nothing about writes still in progress).
 * A read that found nothing is legal when misses are allowed (a cache may drop any entry at any
 * time: eviction, expiry, a restarted Redis, a write that failed), else only when some delete (or
 * the initial absence) could be the latest state during the read, by the same rule (`lost-write`).
 */

/** A write of `value` (unique in the history) to `key`. */
export interface WriteEvent {
  readonly kind: 'write';
  readonly key: string;
  readonly value: string;
  /** Shared-clock epoch ms. */
  readonly begin: number;
  /** Shared-clock epoch ms; Infinity when the outcome is unknown (no answer): it may land any time. */
  readonly end: number;
  /** The process that ran it. */
  readonly worker: string;
  /** The API call it came from (`set`, `getOrSet`). */
  readonly op: string;
  /**
   * The cache may decline it (a value `getOrSet` computed: the cache may skip storing it when
   * something changed meanwhile): if it landed it is a write, but it proves nothing replaced.
   */
  readonly optional?: boolean;
}

/** The removal of `key` (by a delete, or a pattern, tag or clear invalidation that covers it). */
export interface DeleteEvent {
  readonly kind: 'delete';
  readonly key: string;
  readonly begin: number;
  readonly end: number;
  readonly worker: string;
  /** The API call it came from (`delete`, `deletePattern(...)`, `deleteByTag(...)`, `clear`). */
  readonly op: string;
}

/** A read of `key` that returned `value`, or undefined for a miss. */
export interface ReadEvent {
  readonly kind: 'read';
  readonly key: string;
  readonly value: string | undefined;
  readonly begin: number;
  readonly end: number;
  readonly worker: string;
  /** The API call it came from (`get`, `getOrSet`). */
  readonly op: string;
}

/** One per-key event of a history. */
export type HistoryEvent = WriteEvent | DeleteEvent | ReadEvent;

/** Why a read is illegal. */
export type ViolationReason = 'unknown-value' | 'not-yet-written' | 'superseded' | 'lost-write';

/** An illegal read, with what it saw and (for `superseded`) what had certainly replaced it. */
export interface Violation {
  readonly reason: ViolationReason;
  readonly read: ReadEvent;
  /** The write of the value it returned (absent for `unknown-value` and misses). */
  readonly write?: WriteEvent;
  /** The write or delete that certainly replaced it before the read began. */
  readonly replacedBy?: WriteEvent | DeleteEvent;
  /** How long before the read began the returned state had certainly been replaced, in ms. */
  readonly staleForMs?: number;
}

/** What a check found. */
export interface CheckReport {
  readonly reads: number;
  /** Reads that returned a value. */
  readonly hits: number;
  readonly misses: number;
  readonly violations: readonly Violation[];
  /** Violations by reason. */
  readonly byReason: Readonly<Record<ViolationReason, number>>;
}

/** Options of {@link checkReads}. */
export interface CheckOptions {
  /**
   * Whether a read may miss although a value had to be visible. Default true: a cache may drop
   * entries; set false for runs where nothing can be lost (no fault, no expiry, no eviction).
   */
  readonly missesAllowed?: boolean;
  /**
   * How long after a write or delete by ANOTHER process completes that process's L1 may still
   * serve what it replaced: the invalidation bus delivers asynchronously (Redis hands the message
   * to every subscriber before the change resolves, but a process reads its socket only when its
   * event loop gets to it). Default 0: strict. A superseded read is waived only when every
   * operation that superseded it was made by another process and ended less than this long
   * before the read began; one made by the reading process itself is always strict.
   */
  readonly remoteGraceMs?: number;
}

/** A write or delete: it took effect somewhere in [begin, end]. */
type Effect = WriteEvent | DeleteEvent;

/**
 * For one key: answers "which operation began after `t` and ended earliest?" in O(log n), over
 * effects sorted by begin with a suffix minimum of their ends.
 */
class Successors {
  private readonly effects: Effect[];
  private readonly suffixMin: number[];

  constructor(effects: Effect[]) {
    this.effects = [...effects].sort((a, b) => a.begin - b.begin);
    this.suffixMin = new Array<number>(this.effects.length + 1);
    this.suffixMin[this.effects.length] = this.effects.length;
    for (let i = this.effects.length - 1; i >= 0; i--) {
      const best = this.suffixMin[i + 1]!;
      this.suffixMin[i] =
        best < this.effects.length && this.effects[best]!.end <= this.effects[i]!.end ? best : i;
    }
  }

  /** The effect that began strictly after `t` and ended first, if any. */
  firstEndingAfter(t: number): Effect | undefined {
    let lo = 0;
    let hi = this.effects.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.effects[mid]!.begin > t) hi = mid;
      else lo = mid + 1;
    }
    return this.effects[this.suffixMin[lo]!];
  }
}

/** The absence of a key before anything happened to it. */
const INITIAL_ABSENCE = { begin: -Infinity, end: -Infinity };

/** Checks every read of a history; see the file's header for the rules. */
export function checkReads(
  history: readonly HistoryEvent[],
  options: CheckOptions = {},
): CheckReport {
  const missesAllowed = options.missesAllowed ?? true;
  const remoteGraceMs = options.remoteGraceMs ?? 0;
  const byKey = new Map<string, HistoryEvent[]>();
  for (const event of history) {
    let events = byKey.get(event.key);
    if (events === undefined) byKey.set(event.key, (events = []));
    events.push(event);
  }
  const violations: Violation[] = [];
  let reads = 0;
  let hits = 0;
  for (const events of byKey.values()) {
    const writes = new Map<string, WriteEvent>();
    for (const event of events) {
      if (event.kind !== 'write') continue;
      if (writes.has(event.value))
        throw new Error(
          `value ${event.value} written twice to ${event.key}: values must be unique`,
        );
      writes.set(event.value, event);
    }
    const readEvents = events.filter((e): e is ReadEvent => e.kind === 'read');
    reads += readEvents.length;
    hits += readEvents.filter((r) => r.value !== undefined).length;
    const operations = events.filter(
      (e): e is Effect => e.kind === 'delete' || (e.kind === 'write' && e.optional !== true),
    );
    violations.push(
      ...checkKey(readEvents, writes, operations, missesAllowed).filter(
        (v) => !waived(v, operations, remoteGraceMs),
      ),
    );
  }
  violations.sort((a, b) => a.read.begin - b.read.begin);
  const byReason: Record<ViolationReason, number> = {
    'unknown-value': 0,
    'not-yet-written': 0,
    superseded: 0,
    'lost-write': 0,
  };
  for (const v of violations) byReason[v.reason]++;
  return { reads, hits, misses: reads - hits, violations, byReason };
}

/**
 * True when a superseded read is within the remote grace: every operation that began after its
 * write ended and ended before the read began was another process's, ending within the grace.
 */
function waived(v: Violation, effects: readonly Effect[], graceMs: number): boolean {
  if (graceMs <= 0 || v.reason !== 'superseded' || v.write === undefined) return false;
  const { read, write } = v;
  return effects.every(
    (e) =>
      e.begin <= write.end ||
      e.end >= read.begin ||
      (e.worker !== read.worker && read.begin - e.end < graceMs),
  );
}

/** The illegal reads of one key, given the effects known to have happened. */
function checkKey(
  reads: readonly ReadEvent[],
  writes: ReadonlyMap<string, WriteEvent>,
  effects: Effect[],
  missesAllowed: boolean,
): Violation[] {
  const successors = new Successors(effects);
  const violations: Violation[] = [];
  // For misses: the absences (deletes, and the initial one) by begin, with a running max of ends.
  const absences = [
    INITIAL_ABSENCE,
    ...effects
      .filter((e) => e.kind === 'delete')
      .map((e) => ({ begin: e.begin, end: e.end }))
      .sort((a, b) => a.begin - b.begin),
  ];
  const latestEnd: number[] = [];
  for (const [i, absence] of absences.entries())
    latestEnd.push(Math.max(absence.end, i > 0 ? latestEnd[i - 1]! : -Infinity));

  for (const read of reads) {
    if (read.value === undefined) {
      if (missesAllowed) continue;
      // The absence that began before the read ended and ended last is the one most likely to
      // survive until the read began (later ends leave fewer operations that follow them).
      let lo = 0;
      let hi = absences.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (absences[mid]!.begin <= read.end) lo = mid + 1;
        else hi = mid;
      }
      const end = latestEnd[lo - 1]!;
      const next = successors.firstEndingAfter(end);
      if (next !== undefined && next.end < read.begin) {
        violations.push({
          reason: 'lost-write',
          read,
          replacedBy: next,
          staleForMs: read.begin - next.end,
        });
      }
      continue;
    }
    const write = writes.get(read.value);
    if (write === undefined) {
      violations.push({ reason: 'unknown-value', read });
      continue;
    }
    if (write.begin > read.end) {
      violations.push({ reason: 'not-yet-written', read, write });
      continue;
    }
    const next = successors.firstEndingAfter(write.end);
    if (next !== undefined && next.end < read.begin) {
      violations.push({
        reason: 'superseded',
        read,
        write,
        replacedBy: next,
        staleForMs: read.begin - next.end,
      });
    }
  }
  return violations;
}

/** A stretch of time during which a fault was in force (Redis down, paused, or partitioned). */
export interface FaultWindow {
  /** Shared-clock epoch ms when the fault began. */
  readonly from: number;
  /** When it was over (Redis answering again, partition healed). */
  readonly to: number;
  /** What it was, for messages. */
  readonly what: string;
}

/**
 * What a fail-open cache can promise around a fault: a write or delete made while Redis was down,
 * frozen or unreachable, or while a circuit breaker that opened then still keeps it out of the way,
 * may have failed in Redis; the library repairs that (a failed write deletes the old value, a
 * failed delete is replayed, and the repair is published to the other instances) once Redis is
 * back and the breaker lets it in. So an operation that overlaps [from, to + graceMs] may take
 * effect as late as `to + graceMs`: its end is pushed there. Every other operation keeps its
 * measured interval, so a read that began after `to + graceMs` must see the repaired state, and
 * reads before the fault are judged as strictly as in steady state. Reads are left as they are.
 */
export function allowFaults(
  history: readonly HistoryEvent[],
  windows: readonly FaultWindow[],
  graceMs: number,
): HistoryEvent[] {
  return history.map((event) => {
    if (event.kind === 'read') return event;
    let end = event.end;
    for (const window of windows) {
      const settled = window.to + graceMs;
      if (event.begin <= settled && event.end >= window.from) end = Math.max(end, settled);
    }
    return end === event.end ? event : { ...event, end };
  });
}

/**
 * What `report` (checked with a `remoteGraceMs`) let through: the reads of an L1 copy another
 * process had already replaced, and the longest time after the change such a read began, in ms.
 */
export function lateRemoteReads(
  history: readonly HistoryEvent[],
  report: CheckReport,
  missesAllowed: boolean,
): { count: number; longestMs: number } {
  const strict = checkReads(history, { missesAllowed });
  return {
    count: strict.violations.length - report.violations.length,
    longestMs: Math.max(0, ...strict.violations.map((v) => v.staleForMs ?? 0)),
  };
}

/** A readable account of a violation, for failure messages (values are test data). */
export function describeViolation(v: Violation, origin = 0): string {
  const at = (t: number) => (Number.isFinite(t) ? `${(t - origin).toFixed(3)}` : String(t));
  const span = (e: { begin: number; end: number }) => `[${at(e.begin)}, ${at(e.end)}]`;
  const read = `${v.read.worker} ${v.read.op}(${v.read.key}) ${span(v.read)} -> ${v.read.value ?? 'miss'}`;
  const write =
    v.write === undefined ? '' : `; written by ${v.write.worker} ${v.write.op} ${span(v.write)}`;
  const by =
    v.replacedBy === undefined
      ? ''
      : `; replaced by ${v.replacedBy.worker} ${v.replacedBy.op}${
          v.replacedBy.kind === 'write' ? ` = ${v.replacedBy.value}` : ''
        } ${span(v.replacedBy)}`;
  const age = v.staleForMs === undefined ? '' : ` (${v.staleForMs.toFixed(1)} ms before the read)`;
  return `${v.reason}: ${read}${write}${by}${age}`;
}
