/**
 * The attestation requirements the policies gain when the run attested (sign
 * mode `attest: provenance`) or verified attestations (verify mode
 * `predicate-type`): an attestation of each type, by the same keyless
 * identity, about the admitted digest. Each engine in its own terms (checked
 * against the CRD schemas and attestations.md §4):
 * - Kyverno ClusterPolicy: `verifyImages[].attestations[]` with `type` and the
 *   same keyless attestor. In the same entry as the signature attestors, so
 *   both are required. `type: Cosign` reads the `.att` tag, `SigstoreBundle`
 *   the bundle referrers, as for the signature.
 * - ImageValidatingPolicy: `attestations[]` of kind `intoto`, and one
 *   `verifyAttestationSignatures(…) > 0` validation per type.
 * - policy-controller: an authority with `attestations` checks only
 *   attestations, and one passing authority admits an image; but every
 *   ClusterImagePolicy matching an image must pass. So the attestations get a
 *   ClusterImagePolicy of their own beside the signature's.
 */
import { COSIGN_PREDICATE_TYPES } from '../verify/attestation-types.js';
import type { YamlValue } from './yaml.js';

/**
 * A CEL identifier naming the attestation (`attestations.<name>` in the
 * ImageValidatingPolicy): cosign's short name for a type it knows, else
 * `attestation<N>`.
 */
export function attestationName(type: string, index: number): string {
  const short = Object.entries(COSIGN_PREDICATE_TYPES).find(([name, uri]) => uri === type && /^[a-z][a-z0-9]*$/.test(name))?.[0];
  // slsaprovenance and slsaprovenance02 map to one URI: the first listed (the shorter) names it.
  return short ?? `attestation${index + 1}`;
}

/** `verifyImages[].attestations` of a ClusterPolicy, each checked with the signature's keyless attestor. */
export function kyvernoAttestations(types: string[], keyless: { [key: string]: YamlValue }): YamlValue[] {
  return types.map((type, i) => ({ name: attestationName(type, i), type, attestors: [{ count: 1, entries: [{ keyless }] }] }));
}

/** ImageValidatingPolicy `attestations` and the validations that require each (every pod image list). */
export function ivpAttestations(types: string[], images: string, attestor: string): { attestations: YamlValue[]; validations: YamlValue[] } {
  const names = types.map(attestationName);
  return {
    attestations: types.map((type, i) => ({ name: names[i], intoto: { type } })),
    validations: types.map((type, i) => ({
      expression: `${images}.map(image, verifyAttestationSignatures(image, attestations.${names[i]}, [${attestor}])).all(e, e > 0)`,
      message: `image has no ${type} attestation by this identity`,
    })),
  };
}

/** policy-controller's authority `attestations`: each required by name and predicate type. */
export function policyControllerAttestations(types: string[]): YamlValue[] {
  return types.map((type, i) => ({ name: attestationName(type, i), predicateType: type }));
}

/** The name of the attestation ClusterImagePolicy: the signature policy's, `-signature` → `-attested` (shorter, so still ≤ 63). */
export const attestedPolicyName = (signaturePolicyName: string): string => signaturePolicyName.replace(/-signature$/, '-attested');
