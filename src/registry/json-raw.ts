/**
 * The exact source text of each element of a top-level JSON array, so that
 * descriptors written by others (cosign, Go's encoder with its `\u003c` escapes,
 * other key orders) are carried into our manifest byte for byte instead of
 * being re-serialised by JSON.stringify.
 */

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const PRIMITIVE_END = new Set([',', '}', ']', ' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && WHITESPACE.has(text[i])) i++;
  return i;
}

/** Index just past the string starting at `i` (which is `"`). */
function skipString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** Index just past the value starting at `i` (object, array, string or primitive). */
function skipValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first !== '{' && first !== '[') {
    while (i < text.length && !PRIMITIVE_END.has(text[i])) i++;
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = skipString(text, i);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  throw new SyntaxError('unterminated value');
}

function arrayElements(text: string): string[] {
  const out: string[] = [];
  let i = skipWhitespace(text, 1);
  while (i < text.length && text[i] !== ']') {
    const end = skipValue(text, i);
    out.push(text.slice(i, end));
    i = skipWhitespace(text, end);
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
  }
  return out;
}

/**
 * Raw text of each element of the array under `key` in the top-level object of
 * `text`; undefined when the key is absent. Throws on invalid JSON, or when the
 * value is not an array. A duplicated key resolves as JSON.parse does: the last wins.
 */
export function rawArrayElements(text: string, key: string): string[] | undefined {
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('not a JSON object');
  if (!(key in parsed)) return undefined;
  if (!Array.isArray((parsed as Record<string, unknown>)[key])) throw new SyntaxError(`"${key}" is not an array`);
  let found: string[] | undefined;
  let i = skipWhitespace(text, skipWhitespace(text, 0) + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1);
    const valueEnd = skipValue(text, valueStart);
    if (name === key) found = arrayElements(text.slice(valueStart, valueEnd));
    i = skipWhitespace(text, valueEnd);
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
  }
  return found;
}
