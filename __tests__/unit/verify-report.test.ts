/**
 * What both modes report besides the verdicts: policies for the identity (one
 * set per repository, both stages, parseable YAML streams), cosign commands,
 * and the summary's collapsible blocks.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Config } from '../../src/config-types.js';
import { verifyResultsJson } from '../../src/report/outputs.js';
import { imagePatternFor, policiesFor, policiesYaml, repositoryOf } from '../../src/report/policy-output.js';
import { verifyModeMarkdown } from '../../src/report/verify-summary.js';
import { verifyModeCommands } from '../../src/report/verify-commands.js';
import type { Subject } from '../../src/subjects/resolve.js';
import { judgeImage } from '../../src/verify/verdict.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const ME = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function config(over: Partial<Config> = {}): Config {
  return {
    mode: 'verify',
    images: [],
    recursive: 'none',
    signatureFormat: 'legacy',
    annotations: {},
    verify: true,
    ifSigned: 'append',
    identity: { exact: ME, issuer: ISSUER },
    audit: false,
    sigstore: { kind: 'public-good', fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev' },
    allowPublicLog: false,
    summary: true,
    runner: { temp: tmpdir(), serverUrl: 'https://github.com' },
    ...over,
  };
}
const subject = (dockerReference: string, digest: string): Subject => {
  const [registry, ...rest] = dockerReference.split('/');
  return { repo: { registry, repository: rest.join('/') }, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, dockerReference, names: [] };
};
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; spec: Record<string, unknown> });

describe('policy output', () => {
  it('names repositories and image patterns as verifiers normalise them', () => {
    expect(repositoryOf(`127.0.0.1:5000/acme/app@${D1}`)).toBe('127.0.0.1:5000/acme/app');
    expect(repositoryOf('ghcr.io/acme/app:v1')).toBe('ghcr.io/acme/app');
    expect(repositoryOf('localhost:5000/app')).toBe('localhost:5000/app');
    expect(imagePatternFor('index.docker.io/library/nginx')).toBe('docker.io/library/nginx*');
    expect(imagePatternFor('ghcr.io/acme/app')).toBe('ghcr.io/acme/app*');
  });

  it('writes one set per repository, both stages, as YAML streams of the three kinds', () => {
    const report = policiesFor(config(), [`ghcr.io/acme/app@${D1}`, `ghcr.io/acme/app@${D2}`, `index.docker.io/acme/tool@${D1}`], ME, ISSUER, 'legacy');
    expect(report.sets.map((s) => s.imagePattern)).toEqual(['ghcr.io/acme/app*', 'docker.io/acme/tool*']);
    const audit = docs(policiesYaml(report, 'audit'));
    const enforce = docs(policiesYaml(report, 'enforce'));
    expect(audit.map((d) => d.kind)).toEqual(['ClusterPolicy', 'ImageValidatingPolicy', 'ClusterImagePolicy', 'ClusterPolicy', 'ImageValidatingPolicy', 'ClusterImagePolicy']);
    expect(audit.filter((d) => d.kind === 'ClusterImagePolicy').map((d) => d.spec.mode)).toEqual(['warn', 'warn']);
    expect(enforce.filter((d) => d.kind === 'ClusterImagePolicy').map((d) => d.spec.mode)).toEqual(['enforce', 'enforce']);
    expect(JSON.stringify(audit)).toContain(ME);
    expect(JSON.stringify(enforce)).not.toContain('"Audit"');
  });

  it('embeds a custom instance’s keys, read from its trusted root', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'policy-root-'));
    const root = path.join(dir, 'trusted_root.json');
    writeFileSync(root, readFileSync(new URL('../fixtures/real-world/public-good-trusted-root.json', import.meta.url)));
    const custom = config({ sigstore: { kind: 'custom', fulcioUrl: 'https://fulcio.example', rekorUrl: 'https://rekor.sigstore.dev', trustedRootPath: root } });
    const yaml = policiesYaml(policiesFor(custom, [`ghcr.io/acme/app@${D1}`], ME, ISSUER, 'legacy'), 'audit');
    expect(yaml).toContain('-----BEGIN PUBLIC KEY-----');
    expect(yaml).toContain('https://fulcio.example');
  });

  it('says why there are none rather than failing', () => {
    expect(policiesFor(config(), [`ghcr.io/acme/app@${D1}`], undefined, ISSUER, 'legacy')).toMatchObject({ sets: [], unavailable: expect.stringContaining('certificate-identity') });
    expect(policiesFor(config(), [`ghcr.io/acme/app with space@${D1}`], ME, ISSUER, 'legacy')).toMatchObject({ sets: [], unavailable: expect.stringContaining('cannot be written as a policy image pattern') });
  });
});

describe('verify mode summary and results', () => {
  const ok = judgeImage(subject('ghcr.io/acme/app', D1), [{ ok: true, format: 'legacy', reference: 'ghcr.io/acme/app:sha256-1.sig', identity: ME, issuer: ISSUER, logIndex: 5 }]);
  const bad = judgeImage(subject('ghcr.io/acme/app', D2), [
    { ok: false, format: 'legacy', reference: 'ghcr.io/acme/app:sha256-2.sig', identity: 'https://evil|x', failure: 'identity', reason: 'signed by another identity: https://evil|x' },
  ]);
  const cfg = config();
  const commands = verifyModeCommands(cfg, [ok.image, bad.image], cfg.identity!, 'legacy');
  const policies = policiesFor(cfg, [ok.image, bad.image], ME, ISSUER, 'legacy');

  it('has one row per image with its digest and reason, every signature, commands for cosign 2 and 3, and policies, all blocks closed', () => {
    const md = verifyModeMarkdown({ results: [ok, bad], policy: cfg.identity!, audit: true, commands, policies });
    expect(md).toMatch(/^## Signature verification \(audit: nothing fails\): 1 of 2 images verified/);
    expect(md).toContain(`| \`${D2.slice(0, 19)}…\` | ⚠️ would fail | legacy: signed by another identity: https://evil\\|x |`);
    expect(md).toContain('<summary>Every signature checked (2)</summary>');
    expect(md).toContain(commands.cosign3[0]);
    expect(md).toContain(commands.cosign2[1]);
    expect(md.match(/<details/g)).toHaveLength(md.match(/<\/details>/g)!.length);
    expect(md.match(/<details/g)!.length).toBe(1 + 2 + 3);
    expect(md.match(/```yaml/g)).toHaveLength(6);
  });

  it("says in the row when cosign 3 would accept an image that fails here (an attestation bundle), and why", () => {
    const attested = judgeImage(subject('ghcr.io/acme/app', D2), [], [
      { ok: true, format: 'bundle', reference: 'ghcr.io/acme/app@sha256:att', identity: ME, issuer: ISSUER, predicateType: 'https://slsa.dev/provenance/v1' },
    ]);
    expect(attested.ok).toBe(false);
    const md = verifyModeMarkdown({ results: [attested], policy: cfg.identity!, audit: false, commands, policies });
    expect(md).toContain('| ❌ failed (⚠️ cosign 3 would accept it) | no signatures found');
    expect(md).toContain('⚠️ cosign 3 would accept this image on an attestation bundle by this identity (predicate https://slsa.dev/provenance/v1');
    expect(verifyResultsJson([attested])).toEqual([expect.objectContaining({ verified: false, cosign3: expect.stringMatching(/but it has no signature/) })]);
  });

  it('gives scripts each image and each signature, with the failure kind', () => {
    expect(verifyResultsJson([ok, bad])).toEqual([
      expect.objectContaining({ image: `ghcr.io/acme/app@${D1}`, digest: D1, verified: true, signatures: [expect.objectContaining({ verified: true, identity: ME, logIndex: 5 })] }),
      expect.objectContaining({ verified: false, signatures: [expect.objectContaining({ verified: false, failure: 'identity' })] }),
    ]);
  });

  it('anchors a regexp in the cosign commands, as the action checks it', () => {
    const c = verifyModeCommands(cfg, [ok.image], { regexp: 'https://github.com/acme/.+', issuer: ISSUER }, 'bundle');
    expect(c.cosign3[0]).toContain(`--certificate-identity-regexp '^(?:https://github.com/acme/.+)$'`);
    expect(c.cosign2[0]).toContain('--new-bundle-format');
  });
});
