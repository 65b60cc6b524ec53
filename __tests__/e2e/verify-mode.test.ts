/**
 * End to end: `mode: verify` of dist/index.js on the sandbox. Signatures are
 * made by the real action (with the sandbox's OIDC issuing other identities
 * where needed), then crafted with the sandbox's OCI client into each failure
 * a verifier must name. Also audit mode, cosign 3's view, the outputs and
 * summary (commands, policies), and real-world public-good signatures.
 *
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { completeClaims, defaultClaims } from '../../sandbox/oidc.js';
import { attachBundle } from '../helpers/referrer-push.js';
import { editRekorBundle, readSig, writeSig } from '../helpers/sig-tamper.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = `https://github.com/${defaultClaims().job_workflow_ref}`;
const FORK = { repository: 'evil/fork' };
const FORK_IDENTITY = `https://github.com/${completeClaims(FORK).job_workflow_ref}`;
const FIXTURES = new URL('../fixtures/real-world/', import.meta.url);

let sandbox: Sandbox;
let other: Sandbox;
let open: RegistryAccess & { host: string };

beforeAll(async () => {
  [sandbox, other] = await Promise.all([startSandbox({ registries: ['open'] }), startSandbox({ registries: [] })]);
  open = sandbox.registries.open!;
}, 90_000);
afterAll(async () => {
  cleanupRuns();
  await Promise.all([sandbox?.stop(), other?.stop()]);
});

const run = (inputs: Record<string, string>, claims?: Parameters<typeof runnerEnvFor>[1]): Promise<RunResult> =>
  runAction({ inputs: { ...sigstoreInputsFor(sandbox), ...inputs }, env: runnerEnvFor(sandbox, claims) });

async function signed(repo: string, opts: { claims?: typeof FORK; format?: string; tag?: string } = {}) {
  const img = await pushImage(open, repo, { tag: opts.tag });
  const r = await run({ images: `${open.host}/${repo}@${img.digest}`, 'signature-format': opts.format ?? 'legacy' }, opts.claims);
  expect(r.code).toBe(0);
  return { img, sign: r, ref: `${open.host}/${repo}@${img.digest}` };
}

const verify = (images: string, extra: Record<string, string> = {}) =>
  run({ mode: 'verify', images, 'certificate-identity': IDENTITY, 'certificate-oidc-issuer': ISSUER, ...extra });

interface ResultOut {
  image: string;
  verified: boolean;
  reason: string;
  cosign3?: string;
  signatures: { format: string; verified: boolean; failure?: string; identity?: string }[];
}
const resultsOf = (r: RunResult): ResultOut[] => JSON.parse(r.outputs['verify-results']) as ResultOut[];

/** Fails the step, with the reason in the log, the outputs and the summary. */
function expectFailure(r: RunResult, failure: string, reason: RegExp): void {
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).not.toBe(0);
  expect(r.outputs.verified).toBe('false');
  const [result] = resultsOf(r);
  expect(result.verified).toBe(false);
  expect(result.reason).toMatch(reason);
  expect(result.signatures.map((s) => s.failure)).toContain(failure);
  expect(r.stdout).toMatch(new RegExp(`::error::.*${reason.source}`));
  expect(r.summary).toContain('❌ failed');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;
/** The YAML documents of a policies output, by kind. */
function kinds(yamlText: string): Record<string, Doc> {
  const docs = parseAllDocuments(yamlText).map((d) => d.toJS() as Doc);
  return Object.fromEntries(docs.map((d) => [d.kind as string, d]));
}

describe('verify mode passes', () => {
  it('for the signing identity, by tag (reporting the digest), with commands and policies in outputs and summary', async () => {
    const { img, sign } = await signed('acme/app', { tag: 'v1' });
    const r = await verify(`${open.host}/acme/app:v1`);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`::warning::.*resolved tag 'v1' to ${img.digest}`));
    expect(r.outputs.verified).toBe('true');
    expect(resultsOf(r)).toEqual([expect.objectContaining({ image: `${open.host}/acme/app@${img.digest}`, verified: true })]);
    expect(r.outputs['certificate-identity']).toBe(IDENTITY);
    expect(r.outputs['certificate-oidc-issuer']).toBe(ISSUER);
    expect(r.summary).toContain(img.digest.slice(0, 19));

    for (const out of [r, sign]) {
      expect(out.outputs['verify-commands']).toContain(`--certificate-identity '${IDENTITY}' --certificate-oidc-issuer '${ISSUER}'`);
      expect(out.outputs['verify-commands']).toContain(`${open.host}/acme/app@${img.digest}`);
      expect(out.outputs['verify-commands-cosign3']).toMatch(/^cosign verify .*--trusted-root/);
      const audit = kinds(out.outputs['policies-audit']);
      const enforce = kinds(out.outputs['policies-enforce']);
      // A custom instance (the sandbox): its keys come first as policy-controller's TrustRoot.
      expect(Object.keys(audit).sort()).toEqual(['ClusterImagePolicy', 'ClusterPolicy', 'ImageValidatingPolicy', 'TrustRoot']);
      expect(audit.TrustRoot.metadata.name).toBe(audit.ClusterImagePolicy.spec.authorities[0].keyless.trustRootRef);
      const cp = (d: Doc) => d.spec.rules[0].verifyImages[0];
      expect(cp(audit.ClusterPolicy)).toMatchObject({ failureAction: 'Audit', imageReferences: [`${open.host}/acme/app*`] });
      expect(cp(audit.ClusterPolicy).attestors[0].entries[0].keyless).toMatchObject({ subject: IDENTITY, issuer: ISSUER });
      expect(cp(enforce.ClusterPolicy).failureAction).toBe('Enforce');
      expect(audit.ImageValidatingPolicy.spec.validationActions).toEqual(['Audit']);
      expect(enforce.ImageValidatingPolicy.spec.validationActions).toEqual(['Deny']);
      expect(audit.ClusterImagePolicy.spec).toMatchObject({ mode: 'warn', authorities: [{ keyless: { identities: [{ issuer: ISSUER, subject: IDENTITY }] } }] });
      expect(enforce.ClusterImagePolicy.spec.mode).toBe('enforce');
      for (const title of ['cosign 3.x', 'cosign 2.x', 'ClusterPolicy (kyverno.io/v1)', 'ImageValidatingPolicy (policies.kyverno.io/v1)', 'ClusterImagePolicy (policy.sigstore.dev/v1beta1)']) {
        expect(out.summary).toContain(`<summary>${title}`);
      }
      expect(out.summary).toContain(IDENTITY);
    }
  }, 90_000);

  it('for a bundle signature, and for an anchored regexp (naming the one identity that matched)', async () => {
    const { ref } = await signed('acme/bundled', { format: 'bundle' });
    const r = await verify(ref, { 'certificate-identity': '', 'certificate-identity-regexp': 'https://github.com/kupecloud/demo-app/.+' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/::warning::certificate-identity-regexp .* accepts any text/);
    expect(resultsOf(r)[0].reason).toMatch(/^verified \(bundle, log entry \d+\): signed by /);
    expect(r.outputs['certificate-identity']).toBe(IDENTITY);
    expect(r.outputs['verify-commands']).toContain('--new-bundle-format');
    expect(r.outputs['verify-commands']).toContain(`--certificate-identity-regexp '^(?:https://github.com/kupecloud/demo-app/.+)$'`);
  }, 90_000);
});

describe('verify mode fails with one reason per failure', () => {
  it('no signatures found', async () => {
    const img = await pushImage(open, 'acme/unsigned');
    const r = await verify(`${open.host}/acme/unsigned@${img.digest}`);
    expect(r.code).not.toBe(0);
    expect(resultsOf(r)[0]).toMatchObject({ verified: false, reason: expect.stringMatching(/^no signatures found/), signatures: [] });
  });

  it('signed by another identity, which it names; and a regexp is anchored', async () => {
    const { ref } = await signed('acme/forked', { claims: FORK });
    expectFailure(await verify(ref), 'identity', new RegExp(`signed by another identity: ${FORK_IDENTITY.replace(/[.]/g, '\\.')}`));
    // Unanchored, this prefix of the real identity would match it.
    const { ref: ours } = await signed('acme/prefix');
    const prefix = IDENTITY.slice(0, IDENTITY.indexOf('@'));
    expectFailure(await verify(ours, { 'certificate-identity': '', 'certificate-identity-regexp': prefix.replace(/[.]/g, '\\.') }), 'identity', /signed by another identity/);
  }, 90_000);

  it('another issuer', async () => {
    const { ref } = await signed('acme/issuer');
    expectFailure(await verify(ref, { 'certificate-oidc-issuer': 'https://accounts.google.com' }), 'issuer', new RegExp(`another issuer: ${ISSUER.replace(/[.]/g, '\\.')}`));
  });

  it('certificate not chaining to the trusted root (the root of another Sigstore instance)', async () => {
    const { ref } = await signed('acme/chain');
    expectFailure(await verify(ref, { 'trusted-root': other.sigstore!.trustedRootPath }), 'chain', /does not chain to the trusted root/);
  });

  it('bad or missing log proof', async () => {
    const { img, ref } = await signed('acme/logproof');
    const [entry] = await readSig(open, 'acme/logproof', img.digest);
    const forged = editRekorBundle(entry.annotations, (b) => (b.Payload.integratedTime = Number(b.Payload.integratedTime) + 1));
    await writeSig(open, 'acme/logproof', img.digest, [{ ...entry, annotations: forged }]);
    expectFailure(await verify(ref), 'log-proof', /bad or missing transparency-log proof/);
    const { 'dev.sigstore.cosign/bundle': _, ...withoutProof } = entry.annotations;
    await writeSig(open, 'acme/logproof', img.digest, [{ ...entry, annotations: withoutProof }]);
    expectFailure(await verify(ref), 'log-proof', /missing transparency-log proof/);
  });

  it('signature not matching the payload', async () => {
    const { img, ref } = await signed('acme/payload');
    const [entry] = await readSig(open, 'acme/payload', img.digest);
    const changed = Buffer.from(entry.payload.toString().replace('"optional":null', '"optional":{"approved":"yes"}'));
    expect(changed.equals(entry.payload)).toBe(false);
    await writeSig(open, 'acme/payload', img.digest, [{ ...entry, payload: changed }]);
    expectFailure(await verify(ref), 'signature', /signature does not match the signed payload/);
  });

  it('a digest claim for another image (a valid signature copied onto this one)', async () => {
    const { img: signedImg } = await signed('acme/copy');
    const target = await pushImage(open, 'acme/copy');
    await writeSig(open, 'acme/copy', target.digest, await readSig(open, 'acme/copy', signedImg.digest));
    expectFailure(await verify(`${open.host}/acme/copy@${target.digest}`), 'digest-claim', new RegExp(`claims ${signedImg.digest}, not ${target.digest}`));
  });
});

describe('audit mode', () => {
  it('turns every failure into a warning and a summary row; the step succeeds with verified false', async () => {
    const { ref: good } = await signed('acme/audit-good');
    const { ref: forked } = await signed('acme/audit-fork', { claims: FORK });
    const unsigned = await pushImage(open, 'acme/audit-unsigned');
    const bad = `${open.host}/acme/audit-unsigned@${unsigned.digest}`;
    const r = await verify([good, forked, bad].join('\n'), { audit: 'true' });
    expect(r.code).toBe(0);
    expect(r.outputs.verified).toBe('false');
    expect(r.stdout).not.toContain('::error::');
    expect(r.stdout).toMatch(new RegExp(`::warning title=Would fail verification \\(audit\\)::${forked.replace(/[.]/g, '\\.')}: .*signed by another identity`));
    expect(r.stdout).toMatch(new RegExp(`::warning title=Would fail verification \\(audit\\)::${bad.replace(/[.]/g, '\\.')}: no signatures found`));
    expect(resultsOf(r).map((x) => x.verified)).toEqual([true, false, false]);
    expect(r.summary.match(/⚠️ would fail/g)).toHaveLength(2);
    expect(r.summary).toContain('✅ verified');
  }, 120_000);

  it('does not fail for an image it cannot find either (without audit, that fails the step)', async () => {
    const { ref } = await signed('acme/audit-missing-tag');
    const missing = `${open.host}/acme/audit-missing-tag:no-such-tag`;
    const r = await verify([ref, missing].join('\n'), { audit: 'true' });
    expect(r.code).toBe(0);
    expect(r.outputs.verified).toBe('false');
    expect(r.stdout).toMatch(/::warning title=Would fail verification \(audit\)::.*no-such-tag.*not found/);
    const strict = await verify([ref, missing].join('\n'));
    expect(strict.code).not.toBe(0);
    expect(strict.stdout).toMatch(/::error::.*tag no-such-tag not found/);
  });

  it('does not fail when the trusted root is unusable either', async () => {
    const { ref } = await signed('acme/audit-noroot');
    const notARoot = path.join(mkdtempSync(path.join(tmpdir(), 'verify-mode-')), 'trusted_root.json');
    writeFileSync(notARoot, '{}');
    const r = await verify(ref, { audit: 'true', 'trusted-root': notARoot });
    expect(r.code).toBe(0);
    expect(r.outputs.verified).toBe('false');
    expect(resultsOf(r)[0].reason).toMatch(/not checked: .*cannot use .* as a trusted root/);
  });
});

describe("cosign 3's view", () => {
  it('warns when the .sig verifies but a bundle referrer (which cosign 3 reads instead) does not', async () => {
    const { img, ref } = await signed('acme/mixed');
    const r0 = await run({ images: ref, 'signature-format': 'bundle' }, FORK);
    expect(r0.code).toBe(0);
    const r = await verify(ref);
    expect(r.code).toBe(0);
    const [result] = resultsOf(r);
    expect(result.cosign3).toMatch(/^cosign 3 (\(and cosign 2\.6\.3 or later\) )?would reject it/);
    expect(result.signatures.map((s) => [s.format, s.verified])).toEqual([['legacy', true], ['bundle', false]]);
    expect(r.stdout).toMatch(/::warning title=cosign 3 would conclude otherwise::.*cosign 3 (\(and cosign 2\.6\.3 or later\) )?would reject it/);
    expect(r.summary).toContain('not by cosign 3');
    expect(result.image).toBe(`${open.host}/acme/mixed@${img.digest}`);
  }, 90_000);
});

describe('real-world public-good signatures, offline', () => {
  const legacy = JSON.parse(readFileSync(new URL('ratify-keyless-legacy.json', FIXTURES), 'utf8'));
  const trustedRoot = new URL('public-good-trusted-root.json', FIXTURES).pathname;
  // The images themselves are not in the registry (their bytes cannot be had): like `cosign verify`,
  // verify mode checks a digest from its signatures alone.
  // cosign's own test attestation (PROVENANCE.md): a v0.3 DSSE bundle by cody@soyland.com about this digest.
  const attestation = readFileSync(new URL('cosign-oci-attestation.sigstore.json', FIXTURES));
  const attested = `sha256:${JSON.parse(Buffer.from(JSON.parse(attestation.toString()).dsseEnvelope.payload, 'base64').toString()).subject[0].digest.sha256}`;
  const OAUTH = 'https://github.com/login/oauth';
  beforeAll(async () => {
    await writeSig(open, 'wabbitnetworks/cosign-image', legacy.image.digest, [{ payload: Buffer.from(legacy.payload), annotations: legacy.layer.annotations }]);
    await attachBundle(open, 'sigstore/attested', { digest: attested, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1024 }, attestation, {
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://cosign.sigstore.dev/attestation/v1' },
    });
  });

  const verifyRealWorld = (identity: string, image = `${open.host}/wabbitnetworks/cosign-image@${legacy.image.digest}`, issuer: string = legacy.issuer) =>
    runAction({
      inputs: {
        mode: 'verify',
        images: image,
        sigstore: 'custom',
        'fulcio-url': 'https://fulcio.sigstore.dev',
        'rekor-url': 'https://rekor.sigstore.dev',
        'trusted-root': trustedRoot,
        'certificate-identity': identity,
        'certificate-oidc-issuer': issuer,
      },
    });

  it("fails an image whose only referrer is a cosign-made attestation by this identity, saying cosign 3 would accept it", async () => {
    const r = await verifyRealWorld('cody@soyland.com', `${open.host}/sigstore/attested@${attested}`, OAUTH);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).not.toBe(0);
    const [result] = resultsOf(r);
    expect(result).toMatchObject({ verified: false, reason: expect.stringMatching(/^no signatures found/), signatures: [] });
    expect(result.cosign3).toMatch(/^cosign 3 would accept this image on an attestation bundle by this identity \(predicate https:\/\/cosign\.sigstore\.dev\/attestation\/v1, .*but it has no signature/);
    expect(r.stdout).toMatch(/::warning title=cosign 3 would conclude otherwise::.*cosign 3 would accept this image/);
    expect(r.summary).toContain('❌ failed (⚠️ cosign 3 would accept it)');
    // For another identity, cosign 3 rejects it too: nothing to add.
    const other = await verifyRealWorld('someone-else@example.com', `${open.host}/sigstore/attested@${attested}`, OAUTH);
    expect(resultsOf(other)[0].cosign3).toBeUndefined();
  }, 60_000);

  it('verifies a cosign-made keyless .sig for its identity and issuer, against the public-good root', async () => {
    const r = await verifyRealWorld(legacy.identity);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    expect(resultsOf(r)[0]).toMatchObject({ verified: true, reason: `verified (legacy, log entry 13452680): signed by ${legacy.identity}` });
  });

  it('rejects it for another identity, naming the real one', async () => {
    const r = await verifyRealWorld('someone-else@example.com');
    expect(r.code).not.toBe(0);
    expect(resultsOf(r)[0].reason).toContain(`signed by another identity: ${legacy.identity}`);
  });
});
