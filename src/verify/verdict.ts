/**
 * From the verdicts on each signature of an image to the verdict on the image:
 * it passes when one signature verifies; otherwise the one-line reason is the
 * most telling failure. Also what cosign 3 would conclude, which differs when a
 * bundle referrer exists: cosign 3 then reads only bundles (formats.md, "Who
 * reads what"), so a passing `.sig` beside a failing bundle does not count,
 * and an attestation bundle counts though it is no signature here.
 */
import type { SignatureFormat } from '../config-types.js';
import { SIGN_PREDICATE_TYPE } from '../formats/bundle.js';
import type { Subject } from '../subjects/resolve.js';
import type { Cosign3Verdict } from './bundle.js';
import type { FailureKind, SignatureVerdict } from './check.js';

export interface ImageVerdict {
  subject: Subject;
  /** `repo@sha256:…`, the digest that was checked (a tag was resolved to it). */
  image: string;
  ok: boolean;
  verdicts: SignatureVerdict[];
  /** One line: why it failed, or which signature passed. */
  reason: string;
  /** Set when cosign 3 would conclude otherwise: what it would say. */
  cosign3?: string;
  /** Facts worth knowing that change nothing here (other verifiers, other cosign versions). */
  notes: string[];
}

/**
 * Most telling first: a signature that verified cryptographically but names
 * someone else says more than one that is broken, and broken says more than
 * unreadable.
 */
const RANK: FailureKind[] = ['identity', 'issuer', 'digest-claim', 'predicate-type', 'signature', 'log-proof', 'chain', 'malformed', 'unreadable', 'none-found'];
const rankOf = (v: SignatureVerdict): number => RANK.indexOf(v.failure ?? 'malformed');
/** The verdicts, most telling failure first. */
export const byRank = <T extends SignatureVerdict>(verdicts: T[]): T[] => [...verdicts].sort((a, b) => rankOf(a) - rankOf(b));

export const NO_SIGNATURES = 'no signatures found (neither a `.sig` tag nor a bundle referrer for this digest)';

export function imageReason(verdicts: SignatureVerdict[]): string {
  if (!verdicts.length) return NO_SIGNATURES;
  const passed = verdicts.find((v) => v.ok);
  if (passed) {
    const entry = passed.logIndex === undefined ? '' : `, log entry ${passed.logIndex}`;
    return `verified (${passed.format}${entry}): signed by ${passed.identity}`;
  }
  const sorted = byRank(verdicts);
  const first = sorted[0]!;
  const others = sorted.length - 1;
  const prefix = sorted.length > 1 ? `${sorted.length} signatures, none verifies; ` : '';
  const suffix = others > 0 && new Set(sorted.map((v) => v.reason)).size > 1 ? ` (the others: ${[...new Set(sorted.slice(1).map((v) => v.failure))].join(', ')})` : '';
  return `${prefix}${first.format}: ${first.reason}${suffix}`;
}

/**
 * What cosign 3 concludes, when it differs from our verdict. `bundles`: its
 * verdict on every referrer it counts as a bundle (./bundle.ts,
 * ./discovery.ts). When there is one, it reads only bundles and accepts any
 * that verifies for the identity and names the digest, attestations included;
 * when there is none, it reads the `.sig`, as cosign's `.sig` path does
 * (`cosignRejects` on a signature that path would refuse).
 */
export function cosign3View(verdicts: SignatureVerdict[], bundles: Cosign3Verdict[] = []): string | undefined {
  const ours = verdicts.some((v) => v.ok);
  if (bundles.length) {
    const accepted = bundles.find((v) => v.ok);
    if (ours && !accepted) {
      return `cosign 3 (and cosign 2.6.3 or later) would reject it: a Sigstore bundle referrer exists for this digest, so they read only bundles and ignore the .sig signature that verified here; ${imageReason(bundles)}`;
    }
    if (!ours && accepted) {
      const which = accepted.predicateType ?? 'unknown';
      if (which !== SIGN_PREDICATE_TYPE) {
        return `cosign 3 would accept this image on an attestation bundle by this identity (predicate ${which}, ${accepted.reference}), as would Kyverno ImageValidatingPolicy, but it has no signature: this action counts only cosign signatures (a .sig, or a bundle of predicate ${SIGN_PREDICATE_TYPE})`;
      }
      const here = verdicts.find((v) => v.reference === accepted.reference);
      return `cosign 3 would accept this image on the bundle ${accepted.reference}, which fails here: ${here?.reason ?? 'it is not listed as a cosign signature bundle'}`;
    }
    return undefined;
  }
  const legacy = verdicts.filter((v) => v.format === 'legacy' && v.ok);
  if (ours && legacy.length && legacy.every((v) => v.cosignRejects) && !verdicts.some((v) => v.ok && v.format === 'bundle')) {
    return `cosign 3 would reject it: no bundle referrer exists, so it reads the .sig, and ${legacy[0].cosignRejects}`;
  }
  return undefined;
}

/** Notes for the summary: who else reads what was found. */
export function imageNotes(verdicts: SignatureVerdict[]): string[] {
  const notes = new Set<string>();
  const passing = verdicts.filter((v) => v.ok);
  if (passing.length && passing.every((v) => v.format === 'bundle')) {
    notes.add('only the bundle verifies: cosign 2 reads it only with `--new-bundle-format` (2.6+); Kyverno `type: Cosign` and policy-controller (legacy format) do not read it');
  }
  for (const v of passing) if (v.note) notes.add(v.note);
  return [...notes];
}

export function judgeImage(subject: Subject, verdicts: SignatureVerdict[], cosign3Bundles: Cosign3Verdict[] = []): ImageVerdict {
  const ok = verdicts.some((v) => v.ok);
  return {
    subject,
    image: `${subject.dockerReference}@${subject.digest}`,
    ok,
    verdicts,
    reason: imageReason(verdicts),
    cosign3: cosign3View(verdicts, cosign3Bundles),
    notes: imageNotes(verdicts),
  };
}

/** The format verifiers should be pointed at: what verified, else what was found, else legacy. */
export function formatFound(results: ImageVerdict[]): SignatureFormat {
  const all = results.flatMap((r) => r.verdicts);
  const pool = all.some((v) => v.ok) ? all.filter((v) => v.ok) : all;
  const formats = new Set(pool.map((v) => v.format));
  if (formats.size === 2) return 'both';
  return formats.has('bundle') ? 'bundle' : 'legacy';
}

/** The single exact identity that verified (regexp policies), or undefined when none or several did. */
export function verifiedIdentity(results: ImageVerdict[]): string | undefined {
  const identities = new Set(results.flatMap((r) => r.verdicts.filter((v) => v.ok && v.identity).map((v) => v.identity!)));
  return identities.size === 1 ? [...identities][0] : undefined;
}
