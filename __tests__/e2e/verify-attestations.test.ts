/**
 * End to end: `mode: verify` with `predicate-type` (dist/index.js on the
 * sandbox), on a real cosign-made attestation (public-good, checked offline
 * against the fixture trusted root, like verify-mode.test.ts), in both layouts:
 * the bundle referrer cosign 3 writes (listed in the `sha256-<hex>` index: the
 * sandbox registry has no referrers API) and the `.att` tag cosign 2 writes
 * (the same signature's envelope, rebuilt byte for byte). Passes for the
 * identity, issuer and type only; fails for another identity, another type,
 * and the attestation copied onto another digest.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, type RunResult } from '../../sandbox/runner.js';
import { copyAtt, copyReferrers, writeAtt } from '../helpers/attestation-copy.js';
import { attachBundle } from '../helpers/referrer-push.js';
import { useSandbox } from '../helpers/sandbox.js';

const FIXTURES = new URL('../fixtures/real-world/', import.meta.url);
const bundleBytes = readFileSync(new URL('cosign-oci-attestation.sigstore.json', FIXTURES));
const bundle = JSON.parse(bundleBytes.toString());
const TRUSTED_ROOT = new URL('public-good-trusted-root.json', FIXTURES).pathname;
const IDENTITY = 'cody@soyland.com';
const OAUTH = 'https://github.com/login/oauth';
const TYPE = 'https://cosign.sigstore.dev/attestation/v1';
const SLSA1 = 'https://slsa.dev/provenance/v1';
const DIGEST = `sha256:${JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()).subject[0].digest.sha256}`;
const SUBJECT = { digest: DIGEST, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1024 };

const sandbox = useSandbox({ registries: ['open'], sigstore: false });
let open: RegistryAccess & { host: string };

/** The `.att` layer cosign 2 writes for this signature (attestations.md §1.3, §1.4). */
function attEntry(): { envelope: Buffer; annotations: Record<string, string> } {
  const e = bundle.dsseEnvelope;
  const envelope = Buffer.from(JSON.stringify({ payloadType: e.payloadType, payload: e.payload, signatures: e.signatures.map((s: { sig: string }) => ({ keyid: '', sig: s.sig })) }));
  const entry = bundle.verificationMaterial.tlogEntries[0];
  const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString());
  expect(body.spec.envelopeHash.value).toBe(createHash('sha256').update(envelope).digest('hex'));
  const cert = bundle.verificationMaterial.certificate.rawBytes as string;
  return {
    envelope,
    annotations: {
      'dev.cosignproject.cosign/signature': '',
      'dev.sigstore.cosign/certificate': `-----BEGIN CERTIFICATE-----\n${cert.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
      'dev.sigstore.cosign/chain': '',
      'dev.sigstore.cosign/bundle': JSON.stringify({
        SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
        Payload: { body: entry.canonicalizedBody, integratedTime: Number(entry.integratedTime), logIndex: Number(entry.logIndex), logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex') },
      }),
      predicateType: TYPE,
    },
  };
}

beforeAll(async () => {
  open = sandbox().registries.open!;
  await attachBundle(open, 'cosign/bundled', SUBJECT, bundleBytes, { annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': TYPE } });
  await writeAtt(open, 'cosign/legacy', DIGEST, [attEntry()]);
});

const verify = (repo: string, inputs: Record<string, string> = {}, digest = DIGEST): Promise<RunResult> =>
  runAction({
    inputs: {
      mode: 'verify',
      images: `${open.host}/${repo}@${digest}`,
      sigstore: 'custom',
      'fulcio-url': 'https://fulcio.sigstore.dev',
      'rekor-url': 'https://rekor.sigstore.dev',
      'trusted-root': TRUSTED_ROOT,
      'certificate-identity': IDENTITY,
      'certificate-oidc-issuer': OAUTH,
      'predicate-type': TYPE,
      ...inputs,
    },
  });

interface Result {
  image: string;
  predicateType: string;
  verified: boolean;
  reason: string;
  cosign3?: string;
  attestations: { format: string; predicateType: string | null; verified: boolean; failure?: string; identity?: string }[];
}
const resultOf = (r: RunResult): Result => (JSON.parse(r.outputs['verify-results']) as Result[])[0];

describe.each([
  ['a bundle referrer (cosign 3)', 'cosign/bundled', 'bundle'],
  ['a .att tag (cosign 2)', 'cosign/legacy', 'legacy'],
])('a real cosign attestation in %s', (_name, repo, format) => {
  it('verifies for its identity and type, named by its cosign short name; outputs and summary say which URI was used', async () => {
    const r = await verify(repo, { 'predicate-type': 'custom' });
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    expect(r.outputs.verified).toBe('true');
    const result = resultOf(r);
    expect(result).toMatchObject({ predicateType: TYPE, verified: true, reason: `verified (${format}, log entry 175508996): ${TYPE} attestation by ${IDENTITY}` });
    expect(result.attestations).toEqual([expect.objectContaining({ format, predicateType: TYPE, verified: true, identity: IDENTITY })]);
    expect(r.stdout).toContain(`Verifying attestations of type ${TYPE} (from the short name custom)`);
    expect(r.stdout).toMatch(/::notice title=Attestation verified::/);
    expect(r.summary).toContain('## Attestation verification: 1 of 1 image verified');
    expect(r.summary).toContain(`**Predicate type:** \`${TYPE}\` (from the short name \`custom\`)`);
    // The policies require the attestation verified here, beside the signature.
    const docs = parseAllDocuments(r.outputs['policies-enforce']).map((d) => d.toJS());
    // A custom instance: policy-controller gets its keys as a TrustRoot, named by both ClusterImagePolicies.
    const name = `verify-cosign-${repo.split('/')[1]}`;
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      `ClusterPolicy/${name}-signature`,
      `ImageValidatingPolicy/${name}-signature`,
      `TrustRoot/${name}-signature-trust-root`,
      `ClusterImagePolicy/${name}-signature`,
      `ClusterImagePolicy/${name}-attested`,
    ]);
    expect(docs[0].spec.rules[0].verifyImages[0].attestations).toEqual([expect.objectContaining({ name: 'custom', type: TYPE })]);
    expect(docs[4].spec.authorities[0]).toMatchObject({ attestations: [{ name: 'custom', predicateType: TYPE }], keyless: { trustRootRef: `${name}-signature-trust-root` } });
    expect(r.summary).toContain(`with attestations of type \`${TYPE}\` by that identity`);
    expect(r.outputs['verify-commands-cosign3']).toBe(`cosign verify-attestation --type '${TYPE}' --certificate-identity '${IDENTITY}' --certificate-oidc-issuer '${OAUTH}' --trusted-root ${TRUSTED_ROOT} ${open.host}/${repo}@${DIGEST}`);
  });

  it('fails for another predicate type, naming the type it found', async () => {
    const r = await verify(repo, { 'predicate-type': 'slsaprovenance1' });
    expect(r.code).not.toBe(0);
    expect(resultOf(r)).toMatchObject({ predicateType: SLSA1, verified: false, reason: `no attestation of type ${SLSA1} found; 1 of other types: ${TYPE}` });
    expect(resultOf(r).attestations).toEqual([expect.objectContaining({ predicateType: TYPE, failure: 'predicate-type' })]);
    expect(r.stdout).toMatch(new RegExp(`::error::.*failed verification of ${SLSA1.replace(/[./]/g, '\\$&')} attestations`));
  });

  it('fails for another identity, naming the real one', async () => {
    const r = await verify(repo, { 'certificate-identity': 'someone-else@example.com' });
    expect(r.code).not.toBe(0);
    expect(resultOf(r).reason).toContain(`signed by another identity: ${IDENTITY}`);
    expect(resultOf(r).attestations[0].failure).toBe('identity');
  });

  it('fails when copied onto another digest; audit mode only warns', async () => {
    const target = await pushImage(open, repo);
    if (format === 'legacy') await copyAtt(open, repo, DIGEST, target.digest);
    else expect(await copyReferrers(open, repo, DIGEST, target)).toBe(1);
    const r = await verify(repo, {}, target.digest);
    expect(r.code).not.toBe(0);
    expect(resultOf(r).attestations[0]).toMatchObject({ verified: false, failure: 'digest-claim' });
    expect(resultOf(r).reason).toMatch(new RegExp(`is about ${DIGEST}, not ${target.digest}`));
    const audit = await verify(repo, { audit: 'true' }, target.digest);
    expect(audit.code).toBe(0);
    expect(audit.outputs.verified).toBe('false');
    expect(audit.stdout).toMatch(/::warning title=Would fail verification \(audit\)::.*is about/);
  });
});

it('names an image without any attestation, and rejects a predicate-type that is neither URI nor short name', async () => {
  const img = await pushImage(open, 'cosign/none');
  const r = await verify('cosign/none', {}, img.digest);
  expect(r.code).not.toBe(0);
  expect(resultOf(r)).toMatchObject({ verified: false, reason: expect.stringMatching(/^no attestations found/), attestations: [] });
  const bad = await verify('cosign/none', { 'predicate-type': 'provenance' }, img.digest);
  expect(bad.code).not.toBe(0);
  expect(bad.stdout).toMatch(/::error::.*predicate-type.*"provenance" is neither a predicate type URI nor one of cosign's short names/);
});
