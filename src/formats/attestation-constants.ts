/**
 * Names and limits shared by everything that writes or reads attestations
 * (in-toto statements about an image, signed in a DSSE envelope), in both
 * layouts: cosign's legacy `sha256-<hex>.att` tag and Sigstore bundle
 * referrers. Values and sources: ../shared/docs/attestations.md §1–§3, §5.
 */

/** The DSSE payload type of an in-toto statement. */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The statement type we write (actions/attest and cosign ≥ 3.1 write v1; cosign ≤ 3.0 wrote v0.1). */
export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
/** The statement type cosign ≤ 3.0 writes; readers must accept both. */
export const STATEMENT_TYPE_V01 = 'https://in-toto.io/Statement/v0.1';

/** SLSA v1 build provenance (`attest: provenance`). */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** The build type actions/attest-build-provenance (@actions/attest ≥ 1.3.0) writes. */
export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';

/** Legacy layout: the tag suffix (`sha256-<hex>.att`), as cosign's AttestationTagSuffix. */
export const ATTESTATION_TAG_SUFFIX = 'att';
/** Legacy layout: the media type of each `.att` layer, whose blob is the DSSE envelope JSON. */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** Legacy layout: the layer annotation naming the statement's predicate type (plain key, cosign ≥ 2.0). */
export const ANNOTATION_PREDICATE_TYPE_LEGACY = 'predicateType';

/** Bundle layout: referrer annotation naming the predicate type (actions/attest, cosign ≥ 3.1). */
export const ANNOTATION_BUNDLE_PREDICATE_TYPE = 'dev.sigstore.bundle.predicateType';
/** Bundle layout: referrer annotation saying the bundle holds a DSSE envelope. */
export const ANNOTATION_BUNDLE_CONTENT = 'dev.sigstore.bundle.content';
export const BUNDLE_CONTENT_DSSE = 'dsse-envelope';

/** `sha256:abc…` → `sha256-abc….att`, the tag cosign 2 `attest` writes and `verify-attestation` reads. */
export function attestationTag(digest: string): string {
  return `${digest.replace(':', '-')}.${ATTESTATION_TAG_SUFFIX}`;
}

/** actions/attest's cap on `predicate`/`predicate-path` (MAX_PREDICATE_SIZE_BYTES): ours too. */
export const MAX_PREDICATE_BYTES = 16 * 1024 * 1024;
/**
 * The largest DSSE envelope we send to public-good Rekor v1 (which must get the
 * whole envelope). Its real limit is undocumented and enforced by a load
 * balancer; SBOM attestations of a few MiB are reported failing there
 * (attestations.md §5). Above this, the run fails before anything is written.
 */
export const PUBLIC_GOOD_REKOR_V1_MAX_ENVELOPE_BYTES = 1024 * 1024;
