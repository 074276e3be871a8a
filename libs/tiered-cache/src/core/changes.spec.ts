import { describe, expect, it } from '@jest/globals';
import { Changes } from './changes.js';

describe('Changes', () => {
  it('answers unchanged when nothing happened since the ticket', () => {
    const changes = new Changes();
    const ticket = changes.ticket();
    expect(changes.unchangedSince('a', ticket)).toBe(true);
    expect(changes.noneEndedSince('a', ticket)).toBe(true);
  });

  it('a key change that begins after the ticket, while it runs and after it ended, answers changed', () => {
    const changes = new Changes();
    const ticket = changes.ticket();
    const end = changes.beginKeys(['a', 'b']);
    expect(changes.unchangedSince('a', ticket)).toBe(false);
    expect(changes.unchangedSince('b', ticket)).toBe(false);
    expect(changes.unchangedSince('c', ticket)).toBe(true);
    expect(changes.noneEndedSince('a', ticket)).toBe(true);
    end();
    expect(changes.unchangedSince('a', ticket)).toBe(false);
    expect(changes.noneEndedSince('a', ticket)).toBe(false);
    expect(changes.unchangedSince('a', changes.ticket())).toBe(true);
  });

  it('a change that began before the ticket and is still running answers changed (the L2 round-trip window)', () => {
    const changes = new Changes();
    const end = changes.beginKeys(['a']);
    const ticket = changes.ticket();
    expect(changes.unchangedSince('a', ticket)).toBe(false);
    end();
    expect(changes.unchangedSince('a', ticket)).toBe(false); // it ended after the ticket
    const later = changes.ticket();
    expect(changes.unchangedSince('a', later)).toBe(true);
  });

  it('two overlapping changes of one key: still changed until both end', () => {
    const changes = new Changes();
    const end1 = changes.beginKeys(['a']);
    const end2 = changes.beginKeys(['a']);
    end1();
    end1(); // idempotent
    expect(changes.unchangedSince('a', changes.ticket())).toBe(false);
    end2();
    expect(changes.unchangedSince('a', changes.ticket())).toBe(true);
  });

  it('a broad change concerns every key, from its beginning to its end', () => {
    const changes = new Changes();
    const before = changes.ticket();
    const end = changes.beginBroad();
    const during = changes.ticket();
    expect(changes.unchangedSince('x', before)).toBe(false);
    expect(changes.unchangedSince('x', during)).toBe(false);
    expect(changes.noneEndedSince('x', during)).toBe(true);
    end();
    expect(changes.unchangedSince('x', during)).toBe(false);
    expect(changes.noneEndedSince('x', during)).toBe(false);
    expect(changes.unchangedSince('x', changes.ticket())).toBe(true);
  });

  it('stays bounded: idle keys are forgotten and older tickets then answer changed', () => {
    const changes = new Changes(8);
    const old = changes.ticket();
    const running = changes.beginKeys(['busy']);
    for (let i = 0; i < 50; i++) changes.beginKeys([`k${i}`])();
    expect(changes.tracked).toBeLessThanOrEqual(9);
    expect(changes.unchangedSince('never-written', old)).toBe(false);
    expect(changes.unchangedSince('busy', changes.ticket())).toBe(false);
    running();
    expect(changes.unchangedSince('busy', changes.ticket())).toBe(true);
  });
});
