/**
 * Our SLSA v1 provenance against real provenance made by
 * actions/attest-build-provenance (fixtures/real-world, see PROVENANCE.md):
 * the fixture is first verified against the public-good trusted root, so it
 * is what GitHub's action really wrote; then the claims its Fulcio
 * certificate certifies (the same OIDC claims actions/attest reads) are fed
 * to our builder and the predicates compared field by field, and byte for byte.
 */
import { readFileSync } from 'node:fs';
import type { SerializedBundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { assertBuilderIsSigner, buildProvenancePredicate, provenanceClaims, type ProvenanceClaims } from '../../src/attest/provenance.js';
import { verifyBundle } from '../../src/verify/check.js';
import { trustFromJson } from '../../src/verify/trust.js';
import { thrown } from '../helpers/thrown.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/real-world/${name}`, import.meta.url), 'utf8');
const bundle = JSON.parse(fixture('actions-attest-provenance.sigstore.json')) as SerializedBundle & {
  dsseEnvelope: { payload: string };
  verificationMaterial: { certificate: { rawBytes: string } };
};
const IDENTITY = 'https://github.com/terraform-linters/tflint-ruleset-aws/.github/workflows/release.yml@refs/tags/v0.35.0';
const ISSUER = 'https://token.actions.githubusercontent.com';
const statementText = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8');
const statement = JSON.parse(statementText) as { predicateType: string; predicate: Record<string, unknown> };
const cert = X509Certificate.parse(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));

/** A Fulcio extension 1.3.6.1.4.1.57264.1.<n>: an OCTET STRING wrapping a UTF8String. */
function ext(n: number): string {
  const value = cert.extension(`1.3.6.1.4.1.57264.1.${n}`)?.value;
  if (!value) throw new Error(`the certificate has no extension .${n}`);
  const len = value[1];
  return value.subarray(len < 0x80 ? 2 : 2 + (len & 0x7f)).toString('utf8');
}

/** The OIDC claims the certificate certifies (fulcio config/identity: GitHub's claim → extension mapping). */
function claimsFromCertificate(server: string): ProvenanceClaims {
  const strip = (url: string): string => url.slice(`${server}/`.length);
  const [, runId, attempt] = /\/actions\/runs\/(\d+)\/attempts\/(\d+)$/.exec(ext(21)) ?? [];
  return provenanceClaims({
    repository: strip(ext(12)), // source repository URI
    sha: ext(13), // source repository digest
    ref: ext(14), // source repository ref
    repository_id: ext(15),
    repository_owner_id: ext(17),
    workflow_ref: strip(ext(18)), // build config URI
    event_name: ext(20), // build trigger
    runner_environment: ext(11),
    job_workflow_ref: strip(ext(9)), // build signer URI (= the SAN)
    run_id: runId,
    run_attempt: attempt,
  });
}

describe('provenance as actions/attest-build-provenance builds it', () => {
  it('the fixture is genuine: it verifies against the public-good root for its workflow identity', () => {
    const trust = trustFromJson(JSON.parse(fixture('public-good-trusted-root.json')), 'fixture');
    expect(verifyBundle(bundle, undefined, trust, { exact: IDENTITY, issuer: ISSUER }, { format: 'bundle', reference: 'fixture' })).toMatchObject({ ok: true });
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
  });

  const ours = buildProvenancePredicate(claimsFromCertificate('https://github.com'), 'https://github.com');
  const real = statement.predicate as unknown as typeof ours;

  it.each([
    ['buildDefinition.buildType', (p: typeof ours) => p.buildDefinition.buildType],
    ['externalParameters.workflow.ref', (p: typeof ours) => p.buildDefinition.externalParameters.workflow.ref],
    ['externalParameters.workflow.repository', (p: typeof ours) => p.buildDefinition.externalParameters.workflow.repository],
    ['externalParameters.workflow.path', (p: typeof ours) => p.buildDefinition.externalParameters.workflow.path],
    ['internalParameters.github', (p: typeof ours) => p.buildDefinition.internalParameters.github],
    ['resolvedDependencies', (p: typeof ours) => p.buildDefinition.resolvedDependencies],
    ['runDetails.builder.id', (p: typeof ours) => p.runDetails.builder.id],
    ['runDetails.metadata.invocationId', (p: typeof ours) => p.runDetails.metadata.invocationId],
  ])('%s is the same', (_field, pick) => {
    expect(pick(ours)).toEqual(pick(real));
  });

  it('is the same predicate, byte for byte (same fields, same order, nothing more)', () => {
    expect(JSON.stringify(ours)).toBe(JSON.stringify(real));
    // And it is the predicate text inside the statement the action signed.
    expect(statementText).toContain(`"predicate":${JSON.stringify(ours)}}`);
  });

  it('names the certificate identity as its builder, and refuses to attest when they differ', () => {
    expect(() => assertBuilderIsSigner(ours, IDENTITY)).not.toThrow();
    const wrongHost = buildProvenancePredicate(claimsFromCertificate('https://github.com'), 'https://ghe.example.com');
    expect(thrown(() => assertBuilderIsSigner(wrongHost, IDENTITY)).message).toMatch(/builder https:\/\/ghe\.example\.com\/.*but the signing certificate names https:\/\/github\.com/);
  });

  it('says which claims are missing from a token that is not GitHub Actions\'', () => {
    expect(thrown(() => provenanceClaims({ sub: 'x', repository: 'o/r' })).message).toMatch(/input `attest`: the OIDC token lacks claims .*ref, sha, event_name, job_workflow_ref/);
  });

  it('takes the workflow path from workflow_ref, also for tags with @ and reusable workflows', () => {
    const base = claimsFromCertificate('https://github.com');
    const reusable = buildProvenancePredicate(
      { ...base, workflow_ref: 'o/r/.github/workflows/caller.yml@refs/tags/v1@beta', job_workflow_ref: 'org/shared/.github/workflows/build.yml@refs/heads/main', repository: 'o/r' },
      'https://github.com/',
    );
    expect(reusable.buildDefinition.externalParameters.workflow).toMatchObject({ path: '.github/workflows/caller.yml', repository: 'https://github.com/o/r' });
    expect(reusable.runDetails.builder.id).toBe('https://github.com/org/shared/.github/workflows/build.yml@refs/heads/main');
  });
});
