/**
 * From signature verdicts to the image verdict: pass when one verifies, the
 * most telling reason otherwise, and what cosign 3 would conclude.
 */
import type { Cosign3Verdict } from '../../src/verify/bundle.js';
import type { SignatureVerdict } from '../../src/verify/check.js';
import type { Subject } from '../../src/subjects/resolve.js';
import { cosign3View, formatFound, imageNotes, imageReason, judgeImage, NO_SIGNATURES, verifiedIdentity } from '../../src/verify/verdict.js';

const subject: Subject = {
  repo: { registry: 'ghcr.io', repository: 'acme/app' },
  digest: `sha256:${'1'.repeat(64)}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 100,
  dockerReference: 'ghcr.io/acme/app',
  names: ['ghcr.io/acme/app:v1'],
};
const ME = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const pass = (format: 'legacy' | 'bundle', extra: Partial<SignatureVerdict> = {}): SignatureVerdict => ({ ok: true, format, reference: `r-${format}`, identity: ME, logIndex: 7, ...extra });
const fail = (format: 'legacy' | 'bundle', failure: SignatureVerdict['failure'], reason: string): SignatureVerdict => ({ ok: false, format, reference: `r-${format}`, failure, reason });

describe('imageReason', () => {
  it('says nothing was found, or which signature passed', () => {
    expect(imageReason([])).toBe(NO_SIGNATURES);
    expect(imageReason([fail('legacy', 'chain', 'x'), pass('bundle')])).toBe(`verified (bundle, log entry 7): signed by ${ME}`);
  });

  it('puts the most telling failure first: another identity before broken proofs, broken before unreadable', () => {
    const verdicts = [fail('legacy', 'malformed', 'junk'), fail('legacy', 'log-proof', 'bad proof'), fail('bundle', 'identity', 'signed by another identity: X')];
    expect(imageReason(verdicts)).toBe('3 signatures, none verifies; bundle: signed by another identity: X (the others: log-proof, malformed)');
    expect(imageReason([fail('legacy', 'unreadable', 'cannot read'), fail('legacy', 'signature', 'changed')])).toMatch(/^2 signatures, none verifies; legacy: changed/);
    expect(imageReason([fail('legacy', 'digest-claim', 'claims A'), fail('legacy', 'issuer', 'other issuer')])).toMatch(/; legacy: other issuer/);
  });

  it('does not list other reasons when every signature failed the same way', () => {
    expect(imageReason([fail('legacy', 'chain', 'same'), fail('legacy', 'chain', 'same')])).toBe('2 signatures, none verifies; legacy: same');
  });
});

describe("cosign 3's view", () => {
  const SIGN = 'https://sigstore.dev/cosign/sign/v1';
  const SLSA = 'https://slsa.dev/provenance/v1';
  const c3 = (v: SignatureVerdict, predicateType?: string): Cosign3Verdict => ({ ...v, ...(predicateType ? { predicateType } : {}) });

  it('says nothing when cosign 3 concludes as we do', () => {
    expect(cosign3View([pass('legacy')])).toBeUndefined();
    expect(cosign3View([pass('legacy'), pass('bundle')], [c3(pass('bundle'), SIGN)])).toBeUndefined();
    expect(cosign3View([fail('legacy', 'identity', 'x'), fail('bundle', 'identity', 'y')], [c3(fail('bundle', 'identity', 'y'), SIGN)])).toBeUndefined();
    expect(cosign3View([fail('legacy', 'identity', 'x')])).toBeUndefined();
  });

  it('rejects a passing .sig when a bundle it counts exists and none of them verifies, attestations included', () => {
    const sig = [pass('legacy'), fail('bundle', 'identity', 'signed by another identity: EVIL')];
    expect(cosign3View(sig, [c3(fail('bundle', 'identity', 'signed by another identity: EVIL'), SIGN)])).toMatch(/cosign 3 (?:\(and cosign 2\.6\.3 or later\) )?would reject it: .*signed by another identity: EVIL/);
    expect(cosign3View([pass('legacy')], [c3(fail('bundle', 'identity', 'signed by another identity: CI'), SLSA)])).toMatch(/read only bundles and ignore the \.sig.*another identity: CI/);
    expect(cosign3View([pass('legacy')], [c3(fail('bundle', 'malformed', 'the bundle holds no DSSE envelope'))])).toMatch(/would reject it: .*no DSSE envelope/);
  });

  it('accepts, unlike us, an image whose only bundle is an attestation by this identity, and says it has no signature', () => {
    const view = cosign3View([], [c3({ ...pass('bundle'), reference: 'ghcr.io/acme/app@sha256:att' }, SLSA)]);
    expect(view).toMatch(/^cosign 3 would accept this image on an attestation bundle by this identity \(predicate https:\/\/slsa\.dev\/provenance\/v1, ghcr\.io\/acme\/app@sha256:att\)/);
    expect(view).toMatch(/but it has no signature/);
    const ours = fail('bundle', 'digest-claim', "the referrer's subject is sha256:b, not sha256:a");
    expect(cosign3View([ours], [c3(pass('bundle'), SIGN)])).toMatch(/cosign 3 would accept this image on the bundle r-bundle, which fails here: the referrer's subject/);
  });

  it("rejects a .sig that cosign's .sig path refuses, when no bundle exists", () => {
    const rejects = 'the certificate has no issuer in extension 1.3.6.1.4.1.57264.1.1';
    expect(cosign3View([pass('legacy', { cosignRejects: rejects })])).toBe(`cosign 3 would reject it: no bundle referrer exists, so it reads the .sig, and ${rejects}`);
    expect(cosign3View([pass('legacy', { cosignRejects: rejects }), pass('legacy')])).toBeUndefined();
    expect(cosign3View([pass('legacy', { cosignRejects: rejects })], [c3(pass('bundle'), SIGN)])).toBeUndefined();
  });
});


describe('image notes and outputs', () => {
  it('notes what other verifiers miss', () => {
    expect(imageNotes([pass('bundle')])).toEqual([expect.stringMatching(/cosign 2 reads it only with `--new-bundle-format`/)]);
    expect(imageNotes([pass('legacy', { note: 'no chain annotation' })])).toEqual(['no chain annotation']);
    expect(imageNotes([pass('legacy'), pass('bundle')])).toEqual([]);
  });

  it('judges an image by digest, passing when one signature verifies', () => {
    const v = judgeImage(subject, [fail('legacy', 'identity', 'x'), pass('bundle')]);
    expect(v).toMatchObject({ image: `ghcr.io/acme/app@${subject.digest}`, ok: true });
    expect(judgeImage(subject, [fail('legacy', 'identity', 'x')]).ok).toBe(false);
    expect(judgeImage(subject, []).ok).toBe(false);
  });

  it('points commands at the format that verified, and names the one identity that did', () => {
    const a = judgeImage(subject, [pass('legacy')]);
    const b = judgeImage(subject, [pass('bundle', { identity: 'https://other' })]);
    const none = judgeImage(subject, [fail('bundle', 'identity', 'x')]);
    expect(formatFound([a])).toBe('legacy');
    expect(formatFound([a, b])).toBe('both');
    expect(formatFound([none])).toBe('bundle');
    expect(formatFound([judgeImage(subject, [])])).toBe('legacy');
    expect(verifiedIdentity([a])).toBe(ME);
    expect(verifiedIdentity([a, b])).toBeUndefined();
    expect(verifiedIdentity([none])).toBeUndefined();
  });
});
