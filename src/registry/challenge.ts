/**
 * Parses `WWW-Authenticate` (RFC 9110 §11.6.1): one or more challenges separated
 * by commas, each a scheme followed by either a token68 or `name=value` parameters
 * whose values may be quoted strings with backslash escapes. Registries send
 * `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`; some send
 * several challenges in one header, unquoted values holding `:` or `/`, or odd spacing.
 */

export interface Challenge {
  /** Lower-cased: `bearer`, `basic`, … */
  scheme: string;
  /** Parameter names lower-cased; values unquoted and unescaped. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one. */
  token68?: string;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  skipSpacesAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  readWhile(re: RegExp): string {
    const start = this.pos;
    while (!this.done && re.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  /** A quoted-string starting at the current `"`; tolerates a missing closing quote. */
  readQuoted(): string {
    this.pos++;
    let out = '';
    while (!this.done) {
      const c = this.text[this.pos++];
      if (c === '"') return out;
      if (c === '\\' && !this.done) out += this.text[this.pos++];
      else out += c;
    }
    return out;
  }
  /** An unquoted value: anything up to a comma or space (lenient: `scope=repository:a/b:pull`). */
  readBareValue(): string {
    return this.readWhile(/[^,\s]/);
  }
}

/** Tries `name = value` at the current position; restores the position when it is not one. */
function readParam(s: Scanner): [string, string] | undefined {
  const start = s.pos;
  const name = s.readWhile(TOKEN_CHAR);
  s.skipSpaces();
  if (name === '' || s.peek() !== '=') {
    s.pos = start;
    return undefined;
  }
  s.pos++;
  s.skipSpaces();
  const value = s.peek() === '"' ? s.readQuoted() : s.readBareValue();
  return [name.toLowerCase(), value];
}

/** Tries a token68 (`abc+/==`) that stands alone up to a comma or the end. */
function readToken68(s: Scanner): string | undefined {
  const start = s.pos;
  let value = s.readWhile(TOKEN68_CHAR);
  value += s.readWhile(/=/);
  s.skipSpaces();
  if (value !== '' && (s.done || s.peek() === ',')) return value;
  s.pos = start;
  return undefined;
}

export function parseWwwAuthenticate(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const s = new Scanner(header);
  const challenges: Challenge[] = [];
  for (;;) {
    s.skipSpacesAndCommas();
    const scheme = s.readWhile(TOKEN_CHAR);
    if (scheme === '') {
      if (s.done) break;
      s.pos++; // a stray character: skip it rather than give up on the rest
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    s.skipSpaces();
    const param = readParam(s);
    if (!param) {
      const token68 = readToken68(s);
      if (token68 !== undefined) challenge.token68 = token68;
      continue;
    }
    challenge.params[param[0]] = param[1];
    // Further parameters follow commas; a token not followed by `=` starts the next challenge.
    for (;;) {
      const before = s.pos;
      s.skipSpacesAndCommas();
      const next = readParam(s);
      if (!next) {
        s.pos = before;
        break;
      }
      if (!(next[0] in challenge.params)) challenge.params[next[0]] = next[1];
    }
  }
  return challenges;
}
