/**
 * The real verifiers are pinned in one place, scripts/ensure-verifiers.sh; the GitHub e2e
 * workflow installs cosign at the same versions, so what CI here judges with is what the
 * workflow on GitHub runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../sandbox/runner.js';
import { pinnedTools } from '../helpers/verifiers.js';

describe('verifier pins', () => {
  const tools = pinnedTools();

  it('pins every verifier the interop suite uses, at an exact version of its Go module', () => {
    expect(tools.map((t) => t.name).sort()).toEqual(['cosign-v2', 'cosign-v3', 'gh', 'kyverno', 'policy-tester']);
    for (const t of tools) expect(t.version).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(tools.find((t) => t.name === 'cosign-v2')!.version).toMatch(/^v2\.6\./);
    expect(tools.find((t) => t.name === 'cosign-v3')!.version).toMatch(/^v3\.1\./);
  });

  it('e2e.yml installs the same cosign 2 and 3', () => {
    const workflow = parse(readFileSync(join(REPO_ROOT, '.github/workflows/e2e.yml'), 'utf8')) as { env: Record<string, string> };
    expect(workflow.env.COSIGN_V2).toBe(tools.find((t) => t.name === 'cosign-v2')!.version);
    expect(workflow.env.COSIGN_V3).toBe(tools.find((t) => t.name === 'cosign-v3')!.version);
  });

  it('reads the rows of the script as the script itself does (a changed row format is caught)', () => {
    const rows = pinnedTools('  "cosign-v2     v2.6.5    github.com/sigstore/cosign/v2  ./cmd/cosign  cosign  required"\n  "bad row"\n');
    expect(rows).toEqual([{ name: 'cosign-v2', version: 'v2.6.5', module: 'github.com/sigstore/cosign/v2', binary: 'cosign' }]);
  });
});
