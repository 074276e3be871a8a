import { describe, expect, it } from '@jest/globals';
import { parameterNames } from './param-names.js';

/** A function built from exactly this JavaScript source (no TypeScript compilation in between). */
function fromSource(source: string): Function {
  const fn = (0, eval)(`(${source})`) as Function;
  expect(Function.prototype.toString.call(fn)).toBe(source); // the parser sees this very text
  return fn;
}

/** A method of an object literal / class built from exactly this JavaScript source. */
function methodFromSource(
  classBody: string,
  name: string | symbol,
  kind: 'prototype' | 'static' = 'prototype',
): Function {
  const cls = (0, eval)(`(class { ${classBody} })`) as Record<string | symbol, unknown> & {
    prototype: Record<string | symbol, unknown>;
  };
  const fn = (kind === 'static' ? cls[name] : cls.prototype[name]) as Function;
  expect(typeof fn).toBe('function');
  return fn;
}

const KEY = 'computedName';
const SYMBOL = Symbol.for('tiered(cache), test');

/** TypeScript methods, compiled by ts-jest like the library users' code is by tsc. */
class Compiled {
  plain(id: number, name: string): string {
    return `${id}:${name}`;
  }

  async asyncMethod(orgId: string, userId?: string): Promise<string> {
    return `${orgId}:${userId ?? ''}`;
  }

  *generator(from: number, to: number): Generator<number> {
    for (let i = from; i < to; i++) yield i;
  }

  async *asyncGenerator(source: number[]): AsyncGenerator<number> {
    yield* source;
  }

  static create(kind: string, count = 1): string {
    return kind.repeat(count);
  }

  [KEY](first: string, second: string): string {
    return first + second;
  }

  [SYMBOL](left: number, right: number): number {
    return left + right;
  }

  ['literal' + 'Name'](only: unknown): unknown {
    return only;
  }

  withDefaults(
    page: number = Math.max(1, 2),
    sizes: number[] = [10, 20],
    options: { a: number; b: string } = { a: 1, b: 'x, y' },
    label = 'a, (b), [c], {d}',
    quoted = "it's, (",
  ): unknown[] {
    return [page, sizes, options, label, quoted];
  }

  templateDefault(prefix = `)`, suffix = `(${'x'}), [${[1, 2].join(',')}]`, last = 0): string {
    return prefix + suffix + last;
  }

  destructured(
    { id, name }: { id: number; name: string },
    [first]: string[],
    plain: boolean,
  ): unknown[] {
    return [id, name, first, plain];
  }

  rest(head: string, ...tail: string[]): string[] {
    return [head, ...tail];
  }

  none(): number {
    return 1;
  }

  commented(
    /* leading */ id: number /* , fake */, // line, comment (with parens)
    name: string, // trailing
  ): string {
    return `${id}${name}`;
  }

  get accessor(): number {
    return 1;
  }

  set accessor(value: number) {
    void value;
  }

  urlDefault(url = 'http://example.com/a,b', retries = 3): string {
    return url + retries;
  }
}

describe('parameterNames', () => {
  describe('plain functions (exact source)', () => {
    it.each([
      ['function () {}', []],
      ['function f() { return 1; }', []],
      ['function f(a) { return a; }', ['a']],
      ['function f(a, b, c) {}', ['a', 'b', 'c']],
      ['function f( spaced ,  names\n , x) {}', ['spaced', 'names', 'x']],
      ['function f($a, _b, c1, \u00e9t\u00e9) {}', ['$a', '_b', 'c1', '\u00e9t\u00e9']],
      ['function f(a,) {}', ['a']],
      ['async function f(a, b) {}', ['a', 'b']],
      ['function* gen(a, b) {}', ['a', 'b']],
      ['async function* gen(a, b) {}', ['a', 'b']],
      ['function f(a) { return g(1, 2, 3); }', ['a']],
    ] as const)('%s', (source, expected) => {
      expect(parameterNames(fromSource(source))).toEqual(expected);
    });
  });

  describe('arrow functions (exact source)', () => {
    it.each([
      ['() => 1', []],
      ['(a) => a', ['a']],
      ['(a, b) => a + b', ['a', 'b']],
      ['async (a, b) => a', ['a', 'b']],
      ['a => a', ['a']],
      ['a => f(1, 2)', ['a']],
      ['async a => a', ['a']],
      ['async => async', ['async']],
      ['async async => 1', ['async']],
      ['(a = (1, 2), b) => a', ['a', 'b']],
      ['({ a, b }) => a', [undefined]],
      ['(...rest) => rest', ['rest']],
    ] as const)('%s', (source, expected) => {
      expect(parameterNames(fromSource(source))).toEqual(expected);
    });
  });

  describe('default values (exact source)', () => {
    it.each([
      ['function f(a = 1, b = 2) {}', ['a', 'b']],
      ['function f(a = g(1, 2), b) {}', ['a', 'b']],
      ['function f(a = [1, [2, 3]], b = {x: {y: 1, z: 2}}, c) {}', ['a', 'b', 'c']],
      ["function f(a = 'x, y', b) {}", ['a', 'b']],
      ["function f(a = ')', b = '(', c = ']', d) {}", ['a', 'b', 'c', 'd']],
      ['function f(a = "x, ) ]", b) {}', ['a', 'b']],
      ["function f(a = 'it\\'s, )', b) {}", ['a', 'b']],
      ['function f(a = "say \\"hi\\", )", b) {}', ['a', 'b']],
      ['function f(a = `x, )`, b) {}', ['a', 'b']],
      ['function f(a = `${g(1, 2)}, )`, b) {}', ['a', 'b']],
      ["function f(a = `${')'}`, b) {}", ['a', 'b']],
      ["function f(a = `${'`'}`, b) {}", ['a', 'b']],
      ["function f(a = `outer ${`inner ${'}'} )`} ,`, b) {}", ['a', 'b']],
      ['function f(a = (x, y) => x, b = x => ({ x }), c) {}', ['a', 'b', 'c']],
      ['function f(a = b == c, d = e === f) {}', ['a', 'd']],
      ['function f(a = 4 / 2, b = (1) / 2, c) {}', ['a', 'b', 'c']],
      ['function f(a = /[)]/g, b = /\\)/, c) {}', ['a', 'b', 'c']],
      ["function f(url = 'http://example.com', b) {}", ['url', 'b']],
      ["function f(a = '/*', b = '*/', c) {}", ['a', 'b', 'c']],
    ] as const)('%s', (source, expected) => {
      expect(parameterNames(fromSource(source))).toEqual(expected);
    });
  });

  describe('destructured and rest parameters (exact source)', () => {
    it.each([
      ['function f({ a, b }, c) {}', [undefined, 'c']],
      ['function f([a, b], c) {}', [undefined, 'c']],
      [
        'function f(a, { b = 1, c: [d] } = {}, [e = 2] = [], f) {}',
        ['a', undefined, undefined, 'f'],
      ],
      ['function f(...args) {}', ['args']],
      ['function f(a, ... spaced) {}', ['a', 'spaced']],
      ['function f(a, ...[b, c]) {}', ['a', undefined]],
      ['function f(a, ...{ length }) {}', ['a', undefined]],
    ] as const)('%s', (source, expected) => {
      expect(parameterNames(fromSource(source))).toEqual(expected);
    });
  });

  describe('comments in the parameter list (exact source)', () => {
    it.each([
      ['function f(a /* , b */, c) {}', ['a', 'c']],
      ['function f(/* (x, y) */ a, /* ) */ b) {}', ['a', 'b']],
      ['function f(a, // b, c)\n d) {}', ['a', 'd']],
      ['function f(a = 1 /* = 2, e */, // ) ]\n b = 2 // , z\n) {}', ['a', 'b']],
      ['function f(/* nothing */) {}', []],
      ['function /* ( */ f(a) {}', ['a']],
    ] as const)('%j', (source, expected) => {
      expect(parameterNames(fromSource(source))).toEqual(expected);
    });
  });

  describe('class methods (exact source)', () => {
    it.each([
      ['m(a, b) {}', 'm', 'prototype', ['a', 'b']],
      ['async m(a, b) {}', 'm', 'prototype', ['a', 'b']],
      ['*m(a, b) {}', 'm', 'prototype', ['a', 'b']],
      ['async *m(a, b) {}', 'm', 'prototype', ['a', 'b']],
      ['static m(a, b) {}', 'm', 'static', ['a', 'b']],
      ['static async m(a) {}', 'm', 'static', ['a']],
      ["['m'](a, b) {}", 'm', 'prototype', ['a', 'b']],
      ["['x(y, z)'](a, b) {}", 'x(y, z)', 'prototype', ['a', 'b']],
      ["'quoted(name'(a, b) {}", 'quoted(name', 'prototype', ['a', 'b']],
      ["[Symbol.for('m(1, 2)')](a, b) {}", Symbol.for('m(1, 2)'), 'prototype', ['a', 'b']],
      ["[['n', 'm'][1]](a, b) {}", 'm', 'prototype', ['a', 'b']],
      ['m(a = `)`, b) {}', 'm', 'prototype', ['a', 'b']],
      ['m(a = `(${1})`, b = `)${")"}`) {}', 'm', 'prototype', ['a', 'b']],
    ] as const)('%s', (body, name, kind, expected) => {
      expect(parameterNames(methodFromSource(body, name, kind))).toEqual(expected);
    });
  });

  describe('TypeScript-compiled class methods', () => {
    const proto = Compiled.prototype as unknown as Record<string | symbol, Function>;

    it('reads a plain method with type annotations', () => {
      expect(parameterNames(proto.plain!)).toEqual(['id', 'name']);
    });

    it('reads async, generator and async generator methods, and optional parameters', () => {
      expect(parameterNames(proto.asyncMethod!)).toEqual(['orgId', 'userId']);
      expect(parameterNames(proto.generator!)).toEqual(['from', 'to']);
      expect(parameterNames(proto.asyncGenerator!)).toEqual(['source']);
    });

    it('reads a static method', () => {
      expect(parameterNames(Compiled.create)).toEqual(['kind', 'count']);
    });

    it('reads methods with computed names', () => {
      expect(parameterNames(proto[KEY]!)).toEqual(['first', 'second']);
      expect(parameterNames(proto[SYMBOL]!)).toEqual(['left', 'right']);
      expect(parameterNames(proto.literalName!)).toEqual(['only']);
    });

    it('reads methods whose defaults contain commas, parentheses, brackets and strings', () => {
      expect(parameterNames(proto.withDefaults!)).toEqual([
        'page',
        'sizes',
        'options',
        'label',
        'quoted',
      ]);
      expect(parameterNames(proto.urlDefault!)).toEqual(['url', 'retries']);
    });

    it('reads a method whose default value is a template literal containing ")"', () => {
      expect(parameterNames(proto.templateDefault!)).toEqual(['prefix', 'suffix', 'last']);
    });

    it('gives undefined for destructured parameters, keeping positions', () => {
      expect(parameterNames(proto.destructured!)).toEqual([undefined, undefined, 'plain']);
    });

    it('names a rest parameter without its dots', () => {
      expect(parameterNames(proto.rest!)).toEqual(['head', 'tail']);
    });

    it('reads no parameters as an empty list', () => {
      expect(parameterNames(proto.none!)).toEqual([]);
    });

    it('ignores block and line comments in the parameter list', () => {
      expect(parameterNames(proto.commented!)).toEqual(['id', 'name']);
    });

    it('reads accessors', () => {
      const descriptor = Object.getOwnPropertyDescriptor(Compiled.prototype, 'accessor')!;
      expect(parameterNames(descriptor.get!)).toEqual([]);
      expect(parameterNames(descriptor.set!)).toEqual(['value']);
    });

    it('reads TypeScript arrow functions and function expressions', () => {
      const arrow = (tenant: string, id: number) => `${tenant}${id}`;
      const single = (x: number) => x * 2;
      const expression = function named(this: void, a: string, b = [1, 2]) {
        return a + b.length;
      };
      expect(parameterNames(arrow)).toEqual(['tenant', 'id']);
      expect(parameterNames(single)).toEqual(['x']);
      expect(parameterNames(expression)).toEqual(['a', 'b']); // `this` is erased by the compiler
    });
  });

  describe('functions without readable source', () => {
    it('reads nothing from native and bound functions', () => {
      expect(parameterNames(Math.max)).toEqual([]);
      expect(
        parameterNames(
          function f(a: number) {
            return a;
          }.bind(null),
        ),
      ).toEqual([]);
    });
  });
});
