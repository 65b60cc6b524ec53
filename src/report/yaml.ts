/**
 * A tiny YAML emitter for the policy snippets users paste into their clusters.
 *
 * Only what plain data needs: mappings, sequences, strings, numbers, booleans.
 * A string is written bare only when no YAML 1.1 or 1.2 reader could take it for
 * anything but that string; everything else is double-quoted with JSON escapes
 * (a JSON string is a valid YAML double-quoted scalar), and multi-line text such
 * as PEM blocks becomes a literal block. Key order is kept as given.
 */

export type YamlValue = string | number | boolean | null | undefined | YamlValue[] | { [key: string]: YamlValue };

/** Words some YAML reader resolves to a boolean or null (YAML 1.1 is the loose one). */
const NON_STRING_WORDS = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null', '~']);

/**
 * Bare only when it starts with a letter or `/` (so never a number, date, alias, tag,
 * flow or block indicator) and continues with characters that cannot start syntax
 * inside a plain scalar (no `: `, ` #`, `,`, brackets or quotes).
 */
const PLAIN_SAFE = /^[A-Za-z/][A-Za-z0-9_./@=+-]*(?::[A-Za-z0-9_./@=+-]+)*$/;

export function yamlScalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (PLAIN_SAFE.test(value) && !NON_STRING_WORDS.has(value.toLowerCase())) return value;
  return JSON.stringify(value);
}

/** A literal block keeps PEM and JSON text readable; only used when it round-trips exactly. */
function canBeLiteralBlock(text: string): boolean {
  if (!text.includes('\n') || text.trim() === '') return false;
  // Control characters other than newline, and lines with edge whitespace, do not survive a block.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/.test(text)) return false;
  const body = text.replace(/\n+$/, '');
  return body.split('\n').every((line) => line === '' || (line.trimEnd() === line && !/^\s/.test(line)));
}

function literalBlock(text: string, indent: string): string {
  const trailing = text.length - text.replace(/\n+$/, '').length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = text.replace(/\n+$/, '');
  const lines = body.split('\n').map((line) => (line === '' ? '' : indent + line));
  const extra = trailing > 1 ? '\n'.repeat(trailing - 1) : '';
  return `|${chomp}\n${lines.join('\n')}${extra}`;
}

function isMapping(value: YamlValue): value is { [key: string]: YamlValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(map: { [key: string]: YamlValue }): [string, YamlValue][] {
  return Object.entries(map).filter(([, v]) => v !== undefined);
}

/** `key: value` lines (or `- item` lines) for one node, at the given indent. */
function emitNode(value: YamlValue, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return value
      .map((item) => {
        if (isMapping(item) && entries(item).length > 0) {
          // The first key sits on the dash line; the rest line up under it.
          const inner = emitMapping(item, indent + '  ');
          return `${indent}- ${inner.slice(indent.length + 2)}`;
        }
        return `${indent}- ${emitInline(item, indent + '  ')}`;
      })
      .join('\n');
  }
  if (isMapping(value)) return entries(value).length === 0 ? '{}' : emitMapping(value, indent);
  return emitInline(value, indent);
}

function emitMapping(map: { [key: string]: YamlValue }, indent: string): string {
  return entries(map)
    .map(([key, v]) => {
      const k = yamlScalar(key);
      const nested = (Array.isArray(v) && v.length > 0) || (isMapping(v) && entries(v).length > 0);
      // Sequences under a key are indented too: the style kubectl and most docs use.
      return nested ? `${indent}${k}:\n${emitNode(v, indent + '  ')}` : `${indent}${k}: ${emitInline(v, indent + '  ')}`;
    })
    .join('\n');
}

/** A value that fits after `key: ` or `- `: scalars, empty collections, literal blocks. */
function emitInline(value: YamlValue, childIndent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '\n' + emitNode(value, childIndent);
  }
  if (isMapping(value)) {
    if (entries(value).length === 0) return '{}';
    return '\n' + emitMapping(value, childIndent);
  }
  if (value === undefined) return 'null';
  if (typeof value === 'string' && canBeLiteralBlock(value)) return literalBlock(value, childIndent);
  return yamlScalar(value);
}

/**
 * One YAML document. `comment` lines (if any) go first as `# …` lines, each kept to
 * one line so nothing in them can turn into YAML.
 */
export function toYaml(document: { [key: string]: YamlValue }, comment: string[] = []): string {
  const header = comment.map((line) => `# ${line.replace(/[\r\n]+/g, ' ')}`.trimEnd());
  return [...header, emitNode(document, '')].join('\n') + '\n';
}
