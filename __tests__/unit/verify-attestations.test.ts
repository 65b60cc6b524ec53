/**
 * Verify mode for attestations, the parts that need no signature: reading
 * `predicate-type` (cosign's short names, URIs, mistakes), the image verdict
 * and what cosign 3 would conclude, and the printed `cosign verify-attestation`
 * commands.
 */
import { parseConfig } from '../../src/config.js';
import { cosignVerifyCommands } from '../../src/report/commands.js';
import { ghAttestationCommands } from '../../src/report/gh-commands.js';
import type { Subject } from '../../src/subjects/resolve.js';
import type { AttestationVerdict } from '../../src/verify/attestation-check.js';
import { COSIGN_PREDICATE_TYPES, parsePredicateType } from '../../src/verify/attestation-types.js';
import { judgeAttestations, NO_ATTESTATIONS } from '../../src/verify/attestation-verdict.js';
import { thrown } from '../helpers/thrown.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const SLSA1 = 'https://slsa.dev/provenance/v1';
const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const verifying = { mode: 'verify', images: `ghcr.io/acme/app@${D1}`, 'certificate-identity': IDENTITY };
const parse = (inputs: Record<string, string>) => parseConfig((name) => inputs[name] ?? '', { RUNNER_TEMP: '/tmp', GITHUB_REPOSITORY: 'acme/app' });

describe('predicate-type in verify mode', () => {
  it.each([
    ['slsaprovenance1', SLSA1],
    ['SLSAProvenance1', SLSA1],
    ['slsaprovenance', 'https://slsa.dev/provenance/v0.2'],
    ['slsaprovenance02', 'https://slsa.dev/provenance/v0.2'],
    ['spdxjson', 'https://spdx.dev/Document'],
    ['spdx', 'https://spdx.dev/Document'],
    ['cyclonedx', 'https://cyclonedx.org/bom'],
    ['openvex', 'https://openvex.dev/ns'],
    ['vuln', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
    ['link', 'https://in-toto.io/Link/v1'],
    ['custom', 'https://cosign.sigstore.dev/attestation/v1'],
  ])('the cosign short name %s means %s, and says so', (short, uri) => {
    expect(parse({ ...verifying, 'predicate-type': short }).verifyAttestation).toEqual({ uri, shortName: short });
  });

  it('takes a URI verbatim (compared as written, never normalised)', () => {
    for (const uri of [SLSA1, 'https://spdx.dev/Document/v2.3', 'https://example.com/Path/../x?y#z', 'urn:example:predicate']) {
      expect(parse({ ...verifying, 'predicate-type': uri }).verifyAttestation).toEqual({ uri });
    }
  });

  it('is unset without the input: signatures are verified', () => {
    expect(parse(verifying).verifyAttestation).toBeUndefined();
  });

  it.each(['provenance', 'slsa', 'not a uri', 'https://exa mple.com'])('rejects %s, naming the input and the short names', (value) => {
    const e = thrown(() => parse({ ...verifying, 'predicate-type': value }));
    expect(e.input).toBe('predicate-type');
    expect(e.message).toContain(value);
    expect(e.fix).toMatch(/slsaprovenance1.*spdxjson/);
  });

  it("covers cosign's whole PredicateTypeMap", () => {
    expect(Object.keys(COSIGN_PREDICATE_TYPES).sort()).toEqual(
      ['custom', 'cyclonedx', 'link', 'openvex', 'slsaprovenance', 'slsaprovenance02', 'slsaprovenance1', 'spdx', 'spdxjson', 'vuln'],
    );
    expect(parsePredicateType('slsaprovenance1')).toEqual({ uri: SLSA1, shortName: 'slsaprovenance1' });
  });
});

describe('the image verdict', () => {
  const subject = { digest: D1, dockerReference: 'ghcr.io/acme/app' } as Subject;
  const v = (over: Partial<AttestationVerdict>): AttestationVerdict => ({ ok: true, format: 'legacy', reference: 'r', identity: IDENTITY, issuer: ISSUER, logIndex: 7, predicateType: SLSA1, ...over });
  const bad = (over: Partial<AttestationVerdict>): AttestationVerdict => v({ ok: false, ...over });

  it('passes on one attestation of the type, naming it', () => {
    const r = judgeAttestations(subject, [bad({ predicateType: 'https://spdx.dev/Document', failure: 'predicate-type', reason: 'x' }), v({})], SLSA1);
    expect(r).toMatchObject({ ok: true, reason: `verified (legacy, log entry 7): ${SLSA1} attestation by ${IDENTITY}`, cosign3: undefined });
    expect(r.notes.join()).toMatch(/gh attestation verify/);
  });

  it('names the absence of any attestation, or of one of the type', () => {
    expect(judgeAttestations(subject, [], SLSA1).reason).toBe(NO_ATTESTATIONS);
    const others = [bad({ predicateType: 'https://spdx.dev/Document', failure: 'predicate-type', reason: 'x' }), bad({ predicateType: undefined, failure: 'malformed', reason: 'y' })];
    expect(judgeAttestations(subject, others, SLSA1).reason).toBe(`no attestation of type ${SLSA1} found; 2 of other types: https://spdx.dev/Document, unreadable`);
  });

  it('leads with the most telling failure among attestations of the type', () => {
    const r = judgeAttestations(subject, [bad({ failure: 'log-proof', reason: 'bad proof' }), bad({ failure: 'identity', reason: 'signed by another identity: x' })], SLSA1);
    expect(r.reason).toBe(`2 attestations of type ${SLSA1}, none verifies; legacy: signed by another identity: x (the others: log-proof)`);
  });

  it('says when cosign 3 would not read the .att that passed: a bundle referrer exists', () => {
    expect(judgeAttestations(subject, [v({})], SLSA1, 1).cosign3).toMatch(/cosign 3 would reject it: 1 Sigstore bundle referrer/);
    expect(judgeAttestations(subject, [v({}), v({ format: 'bundle' })], SLSA1, 1).cosign3).toBeUndefined();
    expect(judgeAttestations(subject, [v({ cosignRejects: 'issuer only in .8' })], SLSA1, 0).cosign3).toMatch(/issuer only in \.8/);
  });
});

describe('printed commands', () => {
  it('become cosign verify-attestation --type <full URI>, shell-quoted, one per image', () => {
    const images = [`ghcr.io/acme/app@${D1}`];
    const c = cosignVerifyCommands({ images, identity: IDENTITY, issuer: ISSUER, format: 'legacy', predicateType: SLSA1 });
    expect(c.cosign3).toEqual([`cosign verify-attestation --type '${SLSA1}' --certificate-identity '${IDENTITY}' --certificate-oidc-issuer '${ISSUER}' ghcr.io/acme/app@${D1}`]);
    expect(c.notes.join(' ')).toMatch(/\.att/);
    const bundle = cosignVerifyCommands({ images, identity: IDENTITY, issuer: ISSUER, format: 'bundle', predicateType: SLSA1 });
    expect(bundle.cosign2[0]).toMatch(/^cosign verify-attestation --type .* --new-bundle-format /);
    expect(() => cosignVerifyCommands({ images, identity: IDENTITY, issuer: ISSUER, format: 'legacy', predicateType: 'https://x\ny' })).toThrow(/control character/);
  });
});

describe('gh attestation verify commands', () => {
  const images = [`ghcr.io/acme/app@${D1}`];

  it('name the repository of a GitHub workflow identity, the type and the issuer', () => {
    expect(ghAttestationCommands({ images, identity: IDENTITY, issuer: ISSUER, predicateType: SLSA1 })).toEqual([
      `gh attestation verify oci://ghcr.io/acme/app@${D1} --bundle-from-oci --predicate-type '${SLSA1}' --repo acme/app --cert-identity '${IDENTITY}' --cert-oidc-issuer '${ISSUER}'`,
    ]);
  });

  it('take the owner from an anchored regexp, and a custom trusted root', () => {
    const [line] = ghAttestationCommands({ images, identityRegexp: '^(?:https://github\\.com/acme/.+)$', issuer: ISSUER, predicateType: SLSA1, trustedRootPath: '/t/root.json' });
    expect(line).toContain(`--owner acme --cert-identity-regex '^(?:https://github\\.com/acme/.+)$'`);
    expect(line).toMatch(/--custom-trusted-root \/t\/root\.json$/);
  });

  it('are not written for identities gh cannot scope to a repository', () => {
    expect(ghAttestationCommands({ images, identity: 'someone@example.com', issuer: ISSUER, predicateType: SLSA1 })).toEqual([]);
    expect(ghAttestationCommands({ images, identityRegexp: '^(?:.*)$', issuer: ISSUER, predicateType: SLSA1 })).toEqual([]);
  });
});
