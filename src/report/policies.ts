/**
 * Ready-made cluster admission policies that admit only images signed by this
 * workflow: Kyverno ClusterPolicy and ImageValidatingPolicy here, sigstore
 * policy-controller's in ./policies-policy-controller.ts, what they share in
 * ./policies-core.ts; `policySnippets` gives them all. Field names and semantics
 * were checked against the CRD schemas and the verifiers' sources (kyverno/kyverno
 * `pkg/image/verifiers`, `api/kyverno/v1`), and the real engines judge them in
 * the interop suite. Roll out with stage `audit`, then `enforce`.
 */
import type { YamlValue } from './yaml.js';
import { pemFromTrustedRoot, type TrustMaterialPem } from './trusted-root-pem.js';
import { ivpAttestations, kyvernoAttestations } from './policy-attestations.js';
import { checkInput, exactRegexp, policyName, PUBLIC_GOOD, snippet, type PolicyInput, type PolicySnippet, type PolicySnippets } from './policies-core.js';
import { policyControllerAttestationPolicy, policyControllerClusterImagePolicy, policyControllerTrustRoot } from './policies-policy-controller.js';

export * from './policies-core.js';
export * from './policies-policy-controller.js';

/** Image verification calls out to registries and logs; 30 s is the webhook maximum. */
const WEBHOOK_TIMEOUT_SECONDS = 30;
const IVP_ATTESTOR = 'sigstore';

/**
 * Kyverno's `type: Cosign` matches `subject`/`issuer` as wildcards (`*`, `?`), so a value
 * holding those characters goes in the `…RegExp` field, escaped and anchored.
 */
function kyvernoMatch(field: 'subject' | 'issuer', value: string): { [key: string]: string } {
  return /[*?]/.test(value) ? { [`${field}RegExp`]: exactRegexp(value) } : { [field]: value };
}

function trustMaterial(input: PolicyInput): TrustMaterialPem {
  return input.custom?.trustedRootJson ? pemFromTrustedRoot(input.custom.trustedRootJson, input.custom.rekorUrl) : {};
}

export function kyvernoClusterPolicy(input: PolicyInput): PolicySnippet {
  checkInput(input);
  const audit = input.stage === 'audit';
  const rekorUrl = input.custom?.rekorUrl ?? PUBLIC_GOOD.rekorUrl;
  const pem = trustMaterial(input);
  const notes = ['Needs Kyverno 1.13 or later (verifyImages[].failureAction).'];
  const keyless: { [key: string]: YamlValue } = {
    ...kyvernoMatch('subject', input.identity),
    ...kyvernoMatch('issuer', input.issuer),
    rekor: { url: rekorUrl, pubkey: pem.rekorPublicKey },
    ctlog: pem.ctlogPublicKey ? { pubkey: pem.ctlogPublicKey } : undefined,
    roots: pem.fulcioCertificates,
  };
  if (input.format === 'bundle') {
    notes.push('type SigstoreBundle reads the bundle referrer (cosign 3 format); Kyverno checks it against the trusted root of its own TUF settings.');
    if (input.custom) notes.push("For a custom Sigstore instance, start Kyverno with --tufRoot/--tufMirror pointing at that instance's TUF repository.");
  } else if (input.custom && !pem.rekorPublicKey) {
    notes.push("Custom instance: add this instance's keys (keyless.roots, rekor.pubkey, ctlog.pubkey), or Kyverno checks against the public-good keys.");
  }
  const object = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: policyName(input.imagePattern) },
    spec: {
      // Audit must not block pods when Kyverno cannot reach the registry either.
      webhookConfiguration: { failurePolicy: audit ? 'Ignore' : 'Fail', timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS },
      rules: [
        {
          name: 'verify-signature',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          verifyImages: [
            {
              imageReferences: [input.imagePattern],
              // Cosign reads the legacy `.sig` tag, which `both` also writes.
              type: input.format === 'bundle' ? 'SigstoreBundle' : 'Cosign',
              failureAction: audit ? 'Audit' : 'Enforce',
              // Kyverno rejects mutateDigest: true together with the Audit failure action.
              mutateDigest: !audit,
              verifyDigest: true,
              required: true,
              attestors: [{ count: 1, entries: [{ keyless }] }],
              attestations: input.attestations?.length ? kyvernoAttestations(input.attestations, keyless) : undefined,
            },
          ],
        },
      ],
    },
  };
  return snippet(object, 'Kyverno ClusterPolicy', input, notes);
}

export function kyvernoImageValidatingPolicy(input: PolicyInput): PolicySnippet {
  checkInput(input);
  const audit = input.stage === 'audit';
  const pem = trustMaterial(input);
  const attestor = `attestors.${IVP_ATTESTOR}`;
  // Every pod image list Kyverno extracts; matchImageReferences already filtered them.
  const images = '(images.containers + images.initContainers + images.ephemeralContainers)';
  const notes = ['Needs Kyverno 1.17 or later (policies.kyverno.io/v1); it reads both the bundle and the legacy .sig format.'];
  const attested = ivpAttestations(input.attestations ?? [], images, attestor);
  if (input.custom?.trustedRootJson) notes.push('cosign.trustedRoot (used for bundles) needs Kyverno 1.19 or later.');
  else if (input.custom) notes.push("Custom instance: add the instance's keys (keyless.roots, ctlog.rekorPubKey, ctlog.ctLogPubKey, cosign.trustedRoot), or Kyverno checks against the public-good keys.");
  if (input.custom) {
    // Seen with the real Kyverno 1.19.1: keyless checks set up TUF first, keys inline or not.
    notes.push("Kyverno sets up a TUF client for every keyless check: where the cluster cannot reach Sigstore's public TUF repository, add cosign.tuf (mirror, root) naming this instance's TUF repository.");
  }
  const object = {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ImageValidatingPolicy',
    metadata: { name: policyName(input.imagePattern) },
    spec: {
      validationActions: audit ? ['Audit'] : ['Deny'],
      failurePolicy: audit ? 'Ignore' : 'Fail',
      webhookConfiguration: { timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS },
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }],
      },
      matchImageReferences: [{ glob: input.imagePattern }],
      // Audit changes nothing in the workloads: pinning tags to digests waits for enforce.
      validationConfigurations: { mutateDigest: !audit, verifyDigest: true, required: true },
      attestors: [
        {
          name: IVP_ATTESTOR,
          cosign: {
            keyless: { identities: [{ subject: input.identity, issuer: input.issuer }], roots: pem.fulcioCertificates },
            ctlog: {
              url: input.custom?.rekorUrl ?? PUBLIC_GOOD.rekorUrl,
              rekorPubKey: pem.rekorPublicKey,
              ctLogPubKey: pem.ctlogPublicKey,
            },
            trustedRoot: input.custom?.trustedRootJson ? { value: input.custom.trustedRootJson } : undefined,
          },
        },
      ],
      attestations: attested.attestations.length ? attested.attestations : undefined,
      validations: [
        {
          expression: `${images}.map(image, verifyImageSignatures(image, [${attestor}])).all(e, e > 0)`,
          message: `image is not signed by ${input.identity}`,
        },
        ...attested.validations,
      ],
    },
  };
  return snippet(object, 'Kyverno ImageValidatingPolicy', input, notes);
}

/** All of them, for the job summary. */
export function policySnippets(input: PolicyInput): PolicySnippets {
  const attestations = policyControllerAttestationPolicy(input);
  const trustRoot = policyControllerTrustRoot(input);
  // Absent, not undefined, when there is none: callers list the snippets with Object.values.
  return {
    kyvernoClusterPolicy: kyvernoClusterPolicy(input),
    kyvernoImageValidatingPolicy: kyvernoImageValidatingPolicy(input),
    policyControllerClusterImagePolicy: policyControllerClusterImagePolicy(input),
    ...(trustRoot ? { policyControllerTrustRoot: trustRoot } : {}),
    ...(attestations ? { policyControllerAttestationPolicy: attestations } : {}),
  };
}
