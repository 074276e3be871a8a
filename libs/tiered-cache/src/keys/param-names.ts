/**
 * The declared parameter names of a function, read from its source once at bootstrap: `undefined`
 * for a destructured parameter (it has no name; use its position). Handles defaults, rest
 * parameters, comments and nested brackets in default values.
 */
export function parameterNames(fn: Function): Array<string | undefined> {
  const source = Function.prototype.toString.call(fn).replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  const open = source.indexOf('(');
  if (open === -1) return [];
  const params: string[] = [];
  let depth = 0;
  let current = '';
  let quote: string | undefined;
  for (let i = open + 1; i < source.length; i++) {
    const c = source[i]!;
    if (quote !== undefined) {
      current += c;
      if (c === '\\') current += source[++i] ?? '';
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
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
    const name = param.split('=')[0]!.trim().replace(/^\.\.\./, '');
    return /^[A-Za-z_$][\w$]*$/.test(name) ? name : undefined;
  });
}
