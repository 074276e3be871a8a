import {
  allowFaults,
  checkReads,
  describeViolation,
  type DeleteEvent,
  type HistoryEvent,
  type ReadEvent,
  type WriteEvent,
} from './read-checker.js';
import { globToRegExp, History } from './history.js';
import { mulberry32 } from './soak.js';

const write = (value: string, begin: number, end: number, key = 'k'): WriteEvent => ({
  kind: 'write',
  key,
  value,
  begin,
  end,
  worker: 'A',
  op: 'set',
});
const del = (begin: number, end: number, key = 'k'): DeleteEvent => ({
  kind: 'delete',
  key,
  begin,
  end,
  worker: 'A',
  op: 'delete',
});
const read = (value: string | undefined, begin: number, end: number, key = 'k'): ReadEvent => ({
  kind: 'read',
  key,
  value,
  begin,
  end,
  worker: 'B',
  op: 'get',
});

/** The reasons of the violations found, in read order. */
const reasons = (history: HistoryEvent[], strict = false) =>
  checkReads(history, { missesAllowed: !strict }).violations.map((v) => v.reason);

describe('checkReads', () => {
  describe('values', () => {
    it('accepts the latest completed write, and refuses one replaced before the read began', () => {
      expect(reasons([write('v1', 0, 1), read('v1', 2, 3)])).toEqual([]);
      const report = checkReads([write('v1', 0, 1), write('v2', 2, 3), read('v1', 4, 5)]);
      expect(report.violations).toHaveLength(1);
      expect(report.violations[0]).toMatchObject({
        reason: 'superseded',
        write: { value: 'v1' },
        replacedBy: { value: 'v2' },
        staleForMs: 1,
      });
      expect(report.byReason.superseded).toBe(1);
    });

    it('refuses a value read after a completed delete, a pattern or a clear covering the key', () => {
      expect(reasons([write('v1', 0, 1), del(2, 3), read('v1', 4, 5)])).toEqual(['superseded']);
    });

    it('accepts the old or the new value while a write or delete overlaps the read', () => {
      const before = write('v1', 0, 1);
      // The write [2, 6] is still in progress when the read [4, 5] runs.
      expect(reasons([before, write('v2', 2, 6), read('v1', 4, 5)])).toEqual([]);
      expect(reasons([before, write('v2', 2, 6), read('v2', 4, 5)])).toEqual([]);
      // The write [2, 4.5] ends during the read [4, 5]: still either.
      expect(reasons([before, write('v2', 2, 4.5), read('v1', 4, 5)])).toEqual([]);
      // The write begins during the read.
      expect(reasons([before, write('v2', 4.5, 6), read('v2', 4, 5)])).toEqual([]);
      expect(reasons([before, del(2, 6), read('v1', 4, 5)])).toEqual([]);
    });

    it('accepts the value of either of two overlapping writes once both are done', () => {
      // v1 [0, 5] and v2 [1, 2] overlap: either may have landed last.
      const history = [write('v1', 0, 5), write('v2', 1, 2)];
      expect(reasons([...history, read('v1', 6, 7)])).toEqual([]);
      expect(reasons([...history, read('v2', 6, 7)])).toEqual([]);
      // A third write that began after v1 ended replaces both.
      const third = write('v3', 5.5, 5.8);
      expect(reasons([...history, third, read('v1', 6, 7), read('v2', 6, 7)])).toEqual([
        'superseded',
        'superseded',
      ]);
    });

    it('refuses a value written after the read ended, and a value nobody wrote', () => {
      expect(reasons([write('v1', 6, 7), read('v1', 4, 5)])).toEqual(['not-yet-written']);
      expect(reasons([write('v1', 0, 1), read('v9', 4, 5)])).toEqual(['unknown-value']);
      // A value written to another key is unknown on this one.
      expect(reasons([write('v1', 0, 1, 'other'), read('v1', 4, 5)])).toEqual(['unknown-value']);
    });

    it('judges each key on its own', () => {
      const history = [write('a1', 0, 1, 'a'), write('b1', 2, 3, 'b'), read('a1', 4, 5, 'a')];
      expect(reasons(history)).toEqual([]);
    });

    it('lets an operation with an unknown end (no answer) land at any time after it began', () => {
      const lost = write('v2', 2, Infinity);
      expect(reasons([write('v1', 0, 1), lost, read('v1', 100, 101)])).toEqual([]);
      expect(reasons([write('v1', 0, 1), lost, read('v2', 100, 101)])).toEqual([]);
      expect(reasons([write('v1', 0, 1), lost, write('v3', 50, 51), read('v2', 100, 101)])).toEqual(
        [],
      );
      // ... but not before it began.
      expect(reasons([write('v1', 0, 1), lost, read('v2', 0.5, 1.5)])).toEqual(['not-yet-written']);
    });

    it('never lets an optional write (a computed value the cache may not store) replace anything', () => {
      const computed = { ...write('v2', 2, 3), op: 'getOrSet', optional: true };
      expect(reasons([write('v1', 0, 1), computed, read('v1', 4, 5)])).toEqual([]);
      expect(reasons([write('v1', 0, 1), computed, read('v2', 4, 5)])).toEqual([]);
      expect(reasons([del(0, 1), computed, read(undefined, 4, 5)], true)).toEqual([]);
      // ... but once it landed, what replaced it counts as for any write.
      expect(reasons([computed, del(3.5, 3.8), read('v2', 4, 5)])).toEqual(['superseded']);
      expect(reasons([computed, read('v2', 1, 1.5)])).toEqual(['not-yet-written']);
    });

    it('refuses writing the same value twice (values must tell writes apart)', () => {
      expect(() => checkReads([write('v1', 0, 1), write('v1', 2, 3)])).toThrow(/unique/);
    });
  });

  describe('misses', () => {
    it('accepts any miss by default: a cache may drop entries', () => {
      const report = checkReads([write('v1', 0, 1), read(undefined, 2, 3)]);
      expect(report).toMatchObject({ reads: 1, hits: 0, misses: 1, violations: [] });
    });

    it('when nothing may be lost, refuses a miss after a completed write', () => {
      expect(reasons([write('v1', 0, 1), read(undefined, 2, 3)], true)).toEqual(['lost-write']);
      const history = [write('v1', 0, 1), del(2, 3), write('v2', 4, 5), read(undefined, 6, 7)];
      const report = checkReads(history, { missesAllowed: false });
      expect(report.violations[0]).toMatchObject({ replacedBy: { value: 'v2' }, staleForMs: 1 });
    });

    it('when nothing may be lost, accepts a miss before any write, after a delete, or overlapping one', () => {
      expect(reasons([read(undefined, 0, 1), write('v1', 2, 3)], true)).toEqual([]);
      expect(reasons([write('v1', 0, 1), del(2, 3), read(undefined, 4, 5)], true)).toEqual([]);
      expect(reasons([write('v1', 0, 1), del(3, 8), read(undefined, 4, 5)], true)).toEqual([]);
      expect(reasons([write('v1', 4.5, 8), read(undefined, 4, 5)], true)).toEqual([]);
      // An old delete that overlaps a later write still leaves the key possibly absent, also
      // when a shorter delete began after it.
      expect(reasons([del(0, 10), write('v1', 1, 2), read(undefined, 4, 5)], true)).toEqual([]);
      const twoDeletes = [del(0, 10), del(1, 2), write('v1', 3, 4), read(undefined, 5, 6)];
      expect(reasons(twoDeletes, true)).toEqual([]);
    });
  });

  describe('allowFaults', () => {
    const history = [
      write('v1', 0, 1),
      write('v2', 10, 11),
      read('v1', 13, 14),
      read('v1', 18, 19),
    ];

    it('lets an operation that overlapped a fault land until the grace after it', () => {
      expect(reasons(history)).toEqual(['superseded', 'superseded']);
      const relaxed = allowFaults(history, [{ from: 9, to: 12, what: 'restart' }], 5);
      // v2 may land until 12 + 5 = 17: the read at 13 may still see v1, the read at 18 may not.
      expect(reasons(relaxed)).toEqual(['superseded']);
      expect(checkReads(relaxed).violations[0]!.read.begin).toBe(18);
    });

    it('and one that began during the grace, while a breaker may still keep Redis away', () => {
      const relaxed = allowFaults(history, [{ from: 5, to: 8, what: 'pause' }], 5);
      expect(relaxed[1]).toEqual({ ...history[1], end: 13 });
      expect(reasons(relaxed)).toEqual(['superseded']);
    });

    it('leaves operations clear of the fault and its grace, and every read, as they were', () => {
      expect(allowFaults(history, [{ from: 2, to: 3, what: 'pause' }], 5)).toEqual(history);
      expect(allowFaults(history, [{ from: 20, to: 21, what: 'pause' }], 5)).toEqual(history);
    });
  });

  it('describes a violation with its read, its write and what replaced it', () => {
    const [violation] = checkReads([
      write('v1', 0, 1),
      write('v2', 2, 3),
      read('v1', 4, 5),
    ]).violations;
    expect(describeViolation(violation!)).toBe(
      'superseded: B get(k) [4.000, 5.000] -> v1; written by A set [0.000, 1.000]; ' +
        'replaced by A set = v2 [2.000, 3.000] (1.0 ms before the read)',
    );
  });

  /**
   * An independent oracle, by brute force over instants: a read is legal if the state it returned
   * can be the latest at some instant t of the read, with every operation at an instant of its
   * interval: its own write (or delete, or the start) at p <= t, and every other operation that
   * would change that state placed before p or after t.
   */
  function oracle(history: HistoryEvent[], r: ReadEvent, strict: boolean): boolean {
    const ops = history.filter((e): e is WriteEvent | DeleteEvent => e.kind !== 'read');
    const instants = [...new Set(history.flatMap((e) => [e.begin, e.end]))].sort((a, b) => a - b);
    const candidates = instants.flatMap((t, i) =>
      i + 1 < instants.length ? [t, (t + instants[i + 1]!) / 2] : [t],
    );
    const inside = (lo: number, hi: number) => candidates.filter((t) => t >= lo && t <= hi);
    // Who could have set the returned state, and which operations would change it.
    const sources: Array<{ begin: number; end: number }> =
      r.value === undefined
        ? [{ begin: -1, end: -1 }, ...ops.filter((o) => o.kind === 'delete')]
        : ops.filter((o) => o.kind === 'write' && o.value === r.value);
    if (r.value === undefined && !strict) return true;
    return sources.some((source) => {
      const changers = ops.filter(
        (o) =>
          o !== source &&
          !(o.kind === 'write' && o.optional === true) &&
          (r.value !== undefined || o.kind === 'write'),
      );
      const points = source.begin === -1 ? [-1] : inside(source.begin, source.end);
      return points.some((p) =>
        inside(Math.max(r.begin, p), r.end).some((t) =>
          changers.every((o) => o.begin < p || o.end > t),
        ),
      );
    });
  }

  it('agrees with a brute-force oracle on random overlapping histories', () => {
    const random = mulberry32(20240611);
    let illegal = 0;
    let legal = 0;
    for (let round = 0; round < 1000; round++) {
      const history: HistoryEvent[] = [];
      const values: string[] = [];
      const size = 4 + Math.floor(random() * 6);
      for (let i = 0; i < size; i++) {
        // Distinct real endpoints (ties have probability zero), intervals of varied length.
        const begin = random() * 20;
        const end = begin + random() * random() * 8;
        const kind = random();
        if (kind < 0.4) {
          const value = `v${i}`;
          values.push(value);
          const optional = random() < 0.25;
          history.push({ ...write(value, begin, end), optional });
        } else if (kind < 0.6) history.push(del(begin, end));
        else {
          // A miss, or the value of any write so far (whose interval may lie anywhere).
          const miss = random() < 0.25 || values.length === 0;
          const value = miss ? undefined : values[Math.floor(random() * values.length)];
          history.push(read(value, begin, end));
        }
      }
      for (const strict of [false, true]) {
        const flagged = new Set(
          checkReads(history, { missesAllowed: !strict }).violations.map((v) => v.read),
        );
        for (const r of history.filter((e): e is ReadEvent => e.kind === 'read')) {
          const ok = oracle(history, r, strict);
          expect({ read: r, legal: !flagged.has(r) }).toEqual({ read: r, legal: ok });
          if (ok) legal++;
          else illegal++;
        }
      }
    }
    // The random histories exercise both outcomes, plentifully.
    expect(illegal).toBeGreaterThan(100);
    expect(legal).toBeGreaterThan(100);
  });
});

describe('History', () => {
  const keys = [
    { key: 'user:1', tags: ['users', 'odd'] },
    { key: 'user:2', tags: ['users', 'even'] },
    { key: 'post:1', tags: ['posts', 'odd'] },
  ];

  it('expands invalidations to the keys of the key set they cover', () => {
    const history = new History(keys);
    expect(history.covered({ op: 'delete', key: 'user:2' })).toEqual(['user:2']);
    expect(history.covered({ op: 'deletePattern', pattern: 'user:*' })).toEqual([
      'user:1',
      'user:2',
    ]);
    expect(history.covered({ op: 'deletePattern', pattern: '*:1' })).toEqual(['user:1', 'post:1']);
    expect(history.covered({ op: 'deleteByTag', tags: ['odd'] })).toEqual(['user:1', 'post:1']);
    expect(history.covered({ op: 'clear' })).toEqual(['user:1', 'user:2', 'post:1']);
  });

  it('reads globs as Redis does, for * and ?', () => {
    expect(globToRegExp('user:?').test('user:1')).toBe(true);
    expect(globToRegExp('user:?').test('user:12')).toBe(false);
    expect(globToRegExp('a.b*').test('axb')).toBe(false);
    expect(() => globToRegExp('user:[12]')).toThrow(/only \* and \?/);
  });

  describe('remote grace (bus delivery to another process)', () => {
    const byB = <T extends HistoryEvent>(event: T): T => ({ ...event, worker: 'B' });

    it('waives a read of a value another process replaced less than the grace before', () => {
      const history = [write('v1', 0, 1), write('v2', 2, 3), read('v1', 10, 11)];
      expect(checkReads(history).violations).toHaveLength(1);
      expect(checkReads(history, { remoteGraceMs: 20 }).violations).toHaveLength(0);
    });

    it('does not waive it past the grace', () => {
      const history = [write('v1', 0, 1), del(2, 3), read('v1', 30, 31)];
      expect(checkReads(history, { remoteGraceMs: 20 }).violations).toHaveLength(1);
    });

    it('never waives a change the reading process made itself', () => {
      const own = [write('v1', 0, 1), byB(del(2, 3)), read('v1', 5, 6)];
      expect(checkReads(own, { remoteGraceMs: 20 }).violations).toHaveLength(1);
      // Another process's change within the grace, then the reader's own: still a violation.
      const mixed = [
        write('v1', 0, 1),
        write('v2', 2, 3),
        byB(write('v3', 4, 5)),
        read('v1', 6, 7),
      ];
      expect(checkReads(mixed, { remoteGraceMs: 20 }).violations).toHaveLength(1);
    });

    it('leaves the other reasons strict', () => {
      const history = [write('v1', 10, 11), read('v1', 0, 5)];
      expect(checkReads(history, { remoteGraceMs: 1_000 }).violations).toHaveLength(1);
    });
  });
});
