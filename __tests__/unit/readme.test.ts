/** The README is the user's reference: its input and output tables must say what action.yml says. */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const action = parse(fs.readFileSync(path.join(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, unknown>;
};

/** Rows of the first table under `## <heading>`: first cell (names in backticks) → second cell. */
function table(heading: string): Map<string, string> {
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, string>();
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [first, second] = line.split('|').slice(1, 3).map((c) => c.trim());
    for (const name of first.match(/`([^`]+)`/g) ?? []) rows.set(name.slice(1, -1), second.replace(/^`|`$/g, ''));
  }
  return rows;
}

describe('README and action.yml agree', () => {
  it('starts with the two commands', () => {
    const firstBlock = readme.split('```')[1];
    expect(firstBlock).toContain('npm run demo');
    expect(firstBlock).toContain('npm test');
  });

  it('lists every input, and only those, with action.yml’s default', () => {
    const inputs = table('Inputs');
    expect([...inputs.keys()].sort()).toEqual(Object.keys(action.inputs).sort());
    for (const [name, spec] of Object.entries(action.inputs)) expect([name, inputs.get(name)]).toEqual([name, spec.default ?? '']);
  });

  it('lists every output, and only those', () => {
    expect([...table('Outputs').keys()].sort()).toEqual(Object.keys(action.outputs).sort());
  });

  it('runs the action on node24 from dist/index.js', () => {
    expect(parse(fs.readFileSync(path.join(root, 'action.yml'), 'utf8')).runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });
});
