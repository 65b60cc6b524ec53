/**
 * The bundle layout of an attestation: a Sigstore bundle v0.3 holding the
 * DSSE envelope, stored as an OCI 1.1 referrer of the image with the
 * annotations actions/attest (push-to-registry) and cosign ≥ 3.1 `attest`
 * write (attestations.md §2.1–2.2). The manifest, descriptor and bundle are
 * those of bundle signatures (./bundle.ts); only the annotations differ.
 */
import { ANNOTATION_BUNDLE_CONTENT, ANNOTATION_BUNDLE_PREDICATE_TYPE, BUNDLE_CONTENT_DSSE } from './attestation-constants.js';
import { ANNOTATION_CREATED } from './bundle.js';

/**
 * `dev.sigstore.bundle.content`, `dev.sigstore.bundle.predicateType` (the
 * statement's real predicate type, which gh, Kyverno and the referrers index
 * show) and `org.opencontainers.image.created` (RFC 3339 UTC, whole seconds,
 * as cosign writes it), keys sorted.
 */
export function attestationReferrerAnnotations(created: Date, predicateType: string): Record<string, string> {
  return {
    [ANNOTATION_BUNDLE_CONTENT]: BUNDLE_CONTENT_DSSE,
    [ANNOTATION_BUNDLE_PREDICATE_TYPE]: predicateType,
    [ANNOTATION_CREATED]: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}
