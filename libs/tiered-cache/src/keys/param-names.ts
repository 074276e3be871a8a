/**
 * The declared parameter names of a function, read from its source once at bootstrap: `undefined`
 * for a destructured parameter (it has no name; use its position). Handles defaults, rest
 * parameters, comments, strings and template literals, nested brackets in default values,
 * computed method names and single-parameter arrow functions without parentheses.
 */
export function parameterNames(fn: Function): Array<string | undefined> {
  const source = codeOnly(Function.prototype.toString.call(fn));
  const arrow = /^\s*(?:async\s+)?([\p{ID_Start}_$][\p{ID_Continue}$\u200c\u200d]*)\s*=>/u.exec(
    source,
  );
  if (arrow !== null) return [arrow[1]];
  const open = parameterListStart(source);
  if (open === -1) return [];
  const params: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = open + 1; i < source.length; i++) {
    const c = source[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) break;
      depth--;
    } else if (c === ',' && depth === 0) {
      params.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim() !== '') params.push(current);
  return params.map((param) => {
    const name = param
      .split('=')[0]!
      .trim()
      .replace(/^\.\.\.\s*/, '');
    return /^[\p{ID_Start}_$][\p{ID_Continue}$\u200c\u200d]*$/u.test(name) ? name : undefined;
  });
}

/** The `(` opening the parameter list: the first one outside a computed name (`[Symbol.for('x')](a) {}`). */
function parameterListStart(source: string): number {
  let brackets = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '[') brackets++;
    else if (c === ']') brackets--;
    else if (c === '(' && brackets === 0) return i;
  }
  return -1;
}

/** Characters after which a `/` starts a regular expression literal rather than a division. */
const REGEX_MAY_FOLLOW = /^(?:[=(,:[!&|?{};+\-*%<>~^]|)$/;

/**
 * The source without comments, and with the text of string, template and regular expression
 * literals removed (quotes, and the code of `${...}` substitutions, are kept), so that neither a comment nor a string such as
 * `'http://x'`, `'a, b'`, `` `)` `` or `/[)]/` can be taken for code.
 */
function codeOnly(source: string): string {
  let out = '';
  /** Brace depth of the code around each open `${`, to know which `}` closes it. */
  const substitutions: number[] = [];
  let braces = 0;
  let inTemplate = false;
  const n = source.length;
  let i = 0;
  while (i < n) {
    const c = source[i]!;
    if (inTemplate) {
      if (c === '\\') i += 2;
      else if (c === '`') {
        inTemplate = false;
        out += c;
        i++;
      } else if (c === '$' && source[i + 1] === '{') {
        substitutions.push(braces);
        braces = 0;
        inTemplate = false;
        out += '${';
        i += 2;
      } else i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
      out += ' ';
    } else if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i + 2);
      i = end === -1 ? n : end;
      out += ' ';
    } else if (c === '/' && REGEX_MAY_FOLLOW.test(lastCodeChar(out))) {
      let j = i + 1;
      let inClass = false;
      while (j < n && source[j] !== '\n' && (inClass || source[j] !== '/')) {
        if (source[j] === '\\') j++;
        else if (source[j] === '[') inClass = true;
        else if (source[j] === ']') inClass = false;
        j++;
      }
      out += '/ /';
      i = j + 1;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      out += c + c;
      i = j + 1;
    } else if (c === '`') {
      inTemplate = true;
      out += c;
      i++;
    } else if (c === '}' && braces === 0 && substitutions.length > 0) {
      braces = substitutions.pop()!;
      inTemplate = true;
      out += c;
      i++;
    } else {
      if (c === '{') braces++;
      else if (c === '}') braces--;
      out += c;
      i++;
    }
  }
  return out;
}

/** The last character of `code` that is not white space ('' when there is none). */
function lastCodeChar(code: string): string {
  let i = code.length - 1;
  while (i >= 0 && /\s/.test(code[i]!)) i--;
  return i < 0 ? '' : code[i]!;
}
