/**
 * sigstore policy-controller's documents: the ClusterImagePolicy for the signatures, a second one
 * for required attestations, and (custom instance) the TrustRoot they name. Semantics from
 * sigstore/policy-controller `pkg/webhook/validator.go`, judged by the real policy-tester in the
 * interop suite.
 */
import type { YamlValue } from './yaml.js';
import { checkInput, COSIGN_SIGN_PREDICATE, policyName, PUBLIC_GOOD, snippet, type PolicyInput, type PolicySnippet } from './policies-core.js';
import { attestedPolicyName, policyControllerAttestations } from './policy-attestations.js';
import { policyControllerTrustRootObject } from './trust-root-policy.js';

/** The keyless authority of this identity; `attestations` set, it checks those instead of signatures. */
function policyControllerAuthority(input: PolicyInput, name: string, attestations: YamlValue[] | undefined): { [key: string]: YamlValue } {
  const custom = input.custom;
  const trustRootRef = custom ? (custom.trustRootName ?? `${policyName(input.imagePattern)}-trust-root`) : undefined;
  return {
    name,
    keyless: { url: custom?.fulcioUrl ?? PUBLIC_GOOD.fulcioUrl, identities: [{ issuer: input.issuer, subject: input.identity }], trustRootRef },
    ctlog: { url: custom?.rekorUrl ?? PUBLIC_GOOD.rekorUrl, trustRootRef },
    // Legacy is the default; `both` is checked through its `.sig` signature (and `.att` attestations).
    signatureFormat: input.format === 'bundle' ? 'bundle' : undefined,
    attestations,
  };
}

function policyControllerObject(input: PolicyInput, name: string, authority: { [key: string]: YamlValue }): PolicySnippet['object'] {
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name },
    spec: {
      mode: input.stage === 'audit' ? 'warn' : 'enforce',
      // policy-controller spells Docker Hub index.docker.io.
      images: [{ glob: input.imagePattern.replace(/^docker\.io\//, 'index.docker.io/') }],
      authorities: [authority],
    },
  };
}

function policyControllerNotes(input: PolicyInput): string[] {
  const custom = input.custom;
  if (!custom) return [];
  const trustRootRef = custom.trustRootName ?? `${policyName(input.imagePattern)}-trust-root`;
  return [
    custom.trustedRootJson && policyControllerTrustRootObject(trustRootRef, custom.trustedRootJson)
      ? `Apply the TrustRoot ${trustRootRef} (this instance's keys, among these documents) first.`
      : `Create a TrustRoot named ${trustRootRef} (policy.sigstore.dev/v1alpha1) holding this instance's keys before applying.`,
  ];
}

export function policyControllerClusterImagePolicy(input: PolicyInput): PolicySnippet {
  checkInput(input);
  const bundleOnly = input.format === 'bundle';
  const notes = policyControllerNotes(input);
  if (bundleOnly) notes.push(`policy-controller verifies bundles as attestations: the authority asks for predicate type ${COSIGN_SIGN_PREDICATE}.`);
  if (input.attestations?.length) notes.push('The attestations are required by a second ClusterImagePolicy: apply both (an image must pass every policy that matches it).');
  notes.push('Applies in namespaces labelled policy.sigstore.dev/include=true.');
  const signatures = bundleOnly ? [{ name: 'cosign-signature', predicateType: COSIGN_SIGN_PREDICATE }] : undefined;
  const object = policyControllerObject(input, policyName(input.imagePattern), policyControllerAuthority(input, 'sigstore-keyless', signatures));
  return snippet(object, 'sigstore policy-controller ClusterImagePolicy', { ...input, attestations: undefined }, notes);
}

/** policy-controller's ClusterImagePolicy for the attestations (undefined without any). */
export function policyControllerAttestationPolicy(input: PolicyInput): PolicySnippet | undefined {
  if (!input.attestations?.length) return undefined;
  checkInput(input);
  const notes = [...policyControllerNotes(input), 'Apply it beside the signature ClusterImagePolicy; applies in namespaces labelled policy.sigstore.dev/include=true.'];
  const authority = policyControllerAuthority(input, 'sigstore-keyless-attestations', policyControllerAttestations(input.attestations));
  const object = policyControllerObject(input, attestedPolicyName(policyName(input.imagePattern)), authority);
  return snippet(object, 'sigstore policy-controller ClusterImagePolicy for attestations', input, notes);
}

/** policy-controller's TrustRoot for a custom instance whose trusted root was readable. */
export function policyControllerTrustRoot(input: PolicyInput): PolicySnippet | undefined {
  const custom = input.custom;
  if (!custom?.trustedRootJson) return undefined;
  const name = custom.trustRootName ?? `${policyName(input.imagePattern)}-trust-root`;
  const object = policyControllerTrustRootObject(name, custom.trustedRootJson);
  if (!object) return undefined;
  const notes = ["This custom Sigstore instance's public keys and certificates, for the ClusterImagePolicy that follows (its trustRootRef)."];
  if (input.format === 'bundle') {
    // policy-controller 0.14 to 0.15.1 turn inline keys into log ids of the wrong form
    // (hex text), so sigstore-go finds no log for a bundle's entry (seen with policy-tester).
    notes.push(
      "bundle signatures need a TrustRoot from this instance's TUF repository (spec.remote: mirror and root): policy-controller up to 0.15.1 derives wrong log ids from inline sigstoreKeys, which only .sig signatures survive.",
    );
  }
  return snippet(object, 'sigstore policy-controller TrustRoot', input, notes);
}
