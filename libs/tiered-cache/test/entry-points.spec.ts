import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SRC = path.resolve('libs/tiered-cache/src');

/** The modules a file imports statically (`import`/`export ... from`, type-only imports excluded). */
function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gm)) {
    if (match[2] === undefined) specifiers.push(match[3]!);
  }
  for (const match of source.matchAll(/^import\s+'([^']+)'/gm)) specifiers.push(match[1]!);
  return specifiers;
}

/** Every module reachable from `entry` through static imports: library files and packages. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.'))
        visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('entry points', () => {
  it('the main entry never loads ioredis (an optional peer) nor the testing suite', () => {
    const { files, packages } = reachable(path.join(SRC, 'index.ts'));
    expect([...packages].filter((p) => p.startsWith('ioredis') || p.startsWith('@jest'))).toEqual(
      [],
    );
    const relative = [...files].map((f) => path.relative(SRC, f));
    expect(relative.filter((f) => f.startsWith('testing'))).toEqual([]);
    // The Redis descriptor is loaded (it validates options); the ioredis files only on demand.
    expect(relative).toContain(path.join('backends', 'redis.backend.ts'));
    expect(
      relative.filter((f) => /redis\.store|redis-atomic\.store|redis-connection/.test(f)),
    ).toEqual([]);
  });

  it('only redis*.ts files load ioredis (type-only imports are erased)', () => {
    const importers = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
      .filter((f) =>
        /^import (?!type )[^;]*from 'ioredis'/m.test(readFileSync(path.join(SRC, f), 'utf8')),
      )
      .map((f) => path.basename(f));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((f) => !f.startsWith('redis'))).toEqual([]);
  });

  it('the compat entry never loads ioredis nor the testing suite either', () => {
    const { files, packages } = reachable(path.join(SRC, 'compat', 'index.ts'));
    expect([...packages].filter((p) => p.startsWith('ioredis') || p.startsWith('@jest'))).toEqual(
      [],
    );
    expect([...files].filter((f) => path.relative(SRC, f).startsWith('testing'))).toEqual([]);
  });

  it('the testing entry does not depend on a test runner', () => {
    const { packages } = reachable(path.join(SRC, 'testing', 'index.ts'));
    expect([...packages].filter((p) => /jest|vitest|mocha/.test(p))).toEqual([]);
  });

  it('the published types never reach ioredis, so an app without it type-checks (built by npm test)', () => {
    const dist = path.resolve('libs/tiered-cache/dist');
    const seen = new Set<string>();
    const leaks: string[] = [];
    const visit = (file: string, chain: string[]): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/from '([^']+)'|import\('([^']+)'\)/g)) {
        const spec = (match[1] ?? match[2])!;
        if (spec === 'ioredis' || spec.startsWith('ioredis/'))
          leaks.push([...chain, file].map((f) => path.relative(dist, f)).join(' -> '));
        else if (spec.startsWith('.'))
          visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.d.ts')), [...chain, file]);
      }
    };
    for (const entry of ['index.d.ts', 'testing/index.d.ts', 'compat/index.d.ts'])
      visit(path.join(dist, entry), []);
    expect(seen.size).toBeGreaterThan(20);
    expect(leaks).toEqual([]);
  });
});
