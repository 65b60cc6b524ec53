/**
 * Verify mode with `predicate-type`: an image passes when one attestation of
 * that type, by the required identity and issuer, about its digest, verifies
 * in either layout (the `.att` tag or a bundle referrer). Like
 * `cosign verify-attestation --type` and `gh attestation verify
 * --predicate-type`, attestations of other types are read and judged but never
 * count. Also what cosign 3 concludes when it differs: as soon as it finds any
 * bundle referrer for the digest it reads only bundles (its GetBundles check in
 * cmd/cosign/cli/verify/verify_attestation.go), so a `.att` beside a bundle
 * signature is never read by it.
 */
import type { IdentityPolicy } from '../config-types.js';
import type { Subject } from '../subjects/resolve.js';
import type { AttestationVerdict } from './attestation-check.js';
import { verifyBundleAttestations } from './attestation-bundle.js';
import { verifyLegacyAttestations } from './attestation-legacy.js';
import type { BundleReader } from './bundle.js';
import type { Trust } from './trust.js';
import { byRank, type ImageVerdict } from './verdict.js';

export const NO_ATTESTATIONS = 'no attestations found (neither a `.att` tag nor an attestation bundle referrer for this digest)';

function passedReason(v: AttestationVerdict): string {
  const entry = v.logIndex === undefined ? '' : `, log entry ${v.logIndex}`;
  return `verified (${v.format}${entry}): ${v.predicateType} attestation by ${v.identity}`;
}

export function attestationReason(verdicts: AttestationVerdict[], predicateType: string): string {
  if (!verdicts.length) return NO_ATTESTATIONS;
  const passed = verdicts.find((v) => v.ok);
  if (passed) return passedReason(passed);
  const ofType = verdicts.filter((v) => v.predicateType === predicateType);
  if (!ofType.length) {
    const found = [...new Set(verdicts.map((v) => v.predicateType ?? 'unreadable'))].join(', ');
    return `no attestation of type ${predicateType} found; ${verdicts.length} of other types: ${found}`;
  }
  const [first, ...others] = byRank(ofType);
  const prefix = ofType.length > 1 ? `${ofType.length} attestations of type ${predicateType}, none verifies; ` : '';
  const rest = others.length && new Set(ofType.map((v) => v.reason)).size > 1 ? ` (the others: ${[...new Set(others.map((v) => v.failure))].join(', ')})` : '';
  return `${prefix}${first.format}: ${first.reason}${rest}`;
}

/**
 * What cosign 3 (and 2.6, which detects bundles too) would conclude, when it
 * differs from our verdict: it reads only the bundles it counts when there is
 * one, else only the `.att`; and never an attestation flagged `cosignRejects`
 * (an older bundle version that only gh reads, an issuer only in OID .8).
 */
export function cosign3AttestationView(verdicts: AttestationVerdict[], cosign3Bundles: number): string | undefined {
  const passed = verdicts.filter((v) => v.ok);
  if (!passed.length) return undefined;
  const read = cosign3Bundles > 0 ? 'bundle' : 'legacy';
  if (passed.some((v) => v.format === read && !v.cosignRejects)) return undefined;
  if (read === 'bundle') {
    return `cosign 3 would reject it: ${cosign3Bundles} Sigstore bundle referrer(s) it reads exist for this digest (signatures count), so it reads only those, and none verifies for this type and identity; what verified here is ${passed.map((v) => (v.format === 'legacy' ? 'the .att attestation' : `a bundle it does not read (${v.cosignRejects})`)).join(', ')}`;
  }
  const flagged = passed.find((v) => v.cosignRejects);
  return `cosign would reject it: ${flagged?.cosignRejects ?? 'it reads only the .att tag here, where nothing verifies'}`;
}

function attestationNotes(verdicts: AttestationVerdict[]): string[] {
  const passing = verdicts.filter((v) => v.ok);
  const notes = new Set<string>();
  const formats = new Set(passing.map((v) => v.format));
  if (formats.size === 1 && formats.has('bundle')) {
    notes.add('only a bundle referrer verifies: cosign 2 before 2.6, Kyverno `type: Cosign` and policy-controller (legacy format) read only the `.att` tag');
  }
  if (formats.size === 1 && formats.has('legacy')) {
    notes.add('only the `.att` attestation verifies: `gh attestation verify` and Kyverno `type: SigstoreBundle` read only bundle referrers');
  }
  for (const v of passing) if (v.note) notes.add(v.note);
  return [...notes];
}

export function judgeAttestations(subject: Subject, verdicts: AttestationVerdict[], predicateType: string, cosign3Bundles = 0): ImageVerdict {
  return {
    subject,
    image: `${subject.dockerReference}@${subject.digest}`,
    ok: verdicts.some((v) => v.ok),
    verdicts,
    reason: attestationReason(verdicts, predicateType),
    cosign3: cosign3AttestationView(verdicts, cosign3Bundles),
    notes: attestationNotes(verdicts),
  };
}

/** Both layouts of one image, judged for `predicateType`. */
export async function verifyImageAttestations(
  reader: BundleReader,
  subject: Subject,
  trust: Trust,
  policy: IdentityPolicy,
  predicateType: string,
): Promise<ImageVerdict> {
  const [legacy, bundles] = await Promise.all([
    verifyLegacyAttestations(reader, subject.repo, subject.digest, trust, policy, predicateType),
    verifyBundleAttestations(reader, subject.repo, subject.digest, trust, policy, predicateType),
  ]);
  return judgeAttestations(subject, [...legacy, ...bundles.verdicts], predicateType, bundles.cosign3Bundles);
}
