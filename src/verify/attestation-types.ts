/**
 * Predicate types for verify mode's `predicate-type`: a URI, or one of the
 * short names `cosign verify-attestation --type` accepts. The names and URIs
 * are cosign's own (cmd/cosign/cli/options/predicate.go, PredicateTypeMap, at
 * sigstore/cosign d6d86c22, after v3.1.2; the URIs come from in-toto-golang
 * and pkg/cosign/attestation). cosign maps a short name before comparing it
 * with the statement's `predicateType` (pkg/policy/attestation.go), so a name
 * here must give exactly the URI cosign would compare.
 */
import { SLSA_PROVENANCE_V1 } from '../formats/attestation-constants.js';

export const COSIGN_PREDICATE_TYPES: Readonly<Record<string, string>> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: SLSA_PROVENANCE_V1,
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

export interface PredicateTypeChoice {
  /** The full URI compared with each statement's `predicateType`. */
  uri: string;
  /** What the user wrote, when it was a short name. */
  shortName?: string;
}

/**
 * The URI a `predicate-type` value names, or a reason it names none. Like
 * cosign (url.ParseRequestURI), anything that is not a short name must be an
 * absolute URI; unlike cosign, a short name is matched case-insensitively
 * (cosign's flag is case-sensitive, and `SLSAProvenance1` is not a URI either).
 */
export function parsePredicateType(value: string): PredicateTypeChoice | { error: string } {
  const short = COSIGN_PREDICATE_TYPES[value.toLowerCase()];
  if (short) return { uri: short, shortName: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: `"${value}" is neither a predicate type URI nor one of cosign's short names` };
  }
  if (!/^[a-z][a-z0-9+.-]*:$/.test(url.protocol) || /\s/.test(value)) return { error: `"${value}" is not a URI` };
  return { uri: value };
}

/** `https://slsa.dev/provenance/v1 (slsaprovenance1)`: the URI used, and the short name it came from. */
export function describePredicateType(choice: PredicateTypeChoice): string {
  return choice.shortName ? `${choice.uri} (from the short name ${choice.shortName})` : choice.uri;
}
