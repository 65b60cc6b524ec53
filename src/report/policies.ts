/**
 * Ready-made cluster admission policies that admit only images signed by this
 * workflow: Kyverno ClusterPolicy, Kyverno ImageValidatingPolicy, sigstore
 * policy-controller ClusterImagePolicy. Field names and semantics were checked
 * against the CRD schemas and the verifiers' sources (kyverno/kyverno
 * `pkg/image/verifiers`, `api/kyverno/v1`; sigstore/policy-controller
 * `pkg/webhook/validator.go`). Roll out with stage `audit`, then `enforce`.
 */
import { ActionError } from '../errors.js';
import type { SignatureFormat } from '../config-types.js';
import { toYaml, type YamlValue } from './yaml.js';
import { pemFromTrustedRoot, type TrustMaterialPem } from './trusted-root-pem.js';
import { attestedPolicyName, ivpAttestations, kyvernoAttestations, policyControllerAttestations } from './policy-attestations.js';
import { policyControllerTrustRootObject } from './trust-root-policy.js';

export type RolloutStage = 'audit' | 'enforce';

export interface CustomInstancePolicyInput {
  fulcioUrl: string;
  rekorUrl: string;
  /** The instance's trusted_root.json text: its keys go into the policies (public data). */
  trustedRootJson?: string;
  /** Name of the policy-controller TrustRoot resource holding this instance's keys. */
  trustRootName?: string;
}

export interface PolicyInput {
  /** The exact certificate identity (SAN). */
  identity: string;
  issuer: string;
  /** Which images the policy covers, e.g. `ghcr.io/acme/app*` (`*` also matches tags and digests). */
  imagePattern: string;
  format: SignatureFormat;
  stage: RolloutStage;
  custom?: CustomInstancePolicyInput;
  /** Predicate types (URIs) whose attestations by the same identity are required too (./policy-attestations.ts). */
  attestations?: string[];
}

export interface PolicySnippet {
  apiVersion: string;
  kind: string;
  name: string;
  object: { [key: string]: YamlValue };
  /** One YAML document, with `#` comment lines on what it does and needs. */
  yaml: string;
  /** What the reader must know or do besides applying it. */
  notes: string[];
}

export interface PolicySnippets {
  kyvernoClusterPolicy: PolicySnippet;
  kyvernoImageValidatingPolicy: PolicySnippet;
  policyControllerClusterImagePolicy: PolicySnippet;
  /** With `attestations`: policy-controller's second ClusterImagePolicy, requiring them. */
  policyControllerAttestationPolicy?: PolicySnippet;
  /** A custom instance's keys as the TrustRoot the ClusterImagePolicy names (absent on public-good). */
  policyControllerTrustRoot?: PolicySnippet;
}

export const PUBLIC_GOOD = { fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev' } as const;
/** The statement type cosign 3 signs an image with (bundle format). */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
/** Image verification calls out to registries and logs; 30 s is the webhook maximum. */
const WEBHOOK_TIMEOUT_SECONDS = 30;
const IVP_ATTESTOR = 'sigstore';

/** `verify-<repository path>-signature`, a DNS-1123 label (at most 63 characters). */
export function policyName(imagePattern: string): string {
  const withoutVersion = imagePattern.replace(/[*?]/g, '').replace(/@.*$/, '').replace(/:[^/]*$/, '');
  const parts = withoutVersion.split('/');
  // A first component with a dot or port (or `localhost`) is the registry: not part of the name.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0])) parts.shift();
  const budget = 63 - 'verify-'.length - '-signature'.length;
  const slug = parts.filter(Boolean).join('-').toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, budget).replace(/^-+|-+$/g, '');
  return slug ? `verify-${slug}-signature` : 'verify-image-signature';
}

/** Go's regexp.QuoteMeta, anchored: the literal string and nothing else. */
export function exactRegexp(text: string): string {
  return `^${text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')}$`;
}

/** policy-controller rejects any other character in a glob (pkg/apis/glob). */
const POLICY_CONTROLLER_GLOB = /^[a-zA-Z0-9-_:/*.@]+$/;

function checkInput(input: PolicyInput): void {
  if (!input.imagePattern.trim() || !POLICY_CONTROLLER_GLOB.test(input.imagePattern)) {
    throw new ActionError(`the image pattern '${input.imagePattern}' cannot be written as a policy image pattern`, {
      fix: 'use a repository with an optional `*`, such as ghcr.io/acme/app*',
    });
  }
  if (!input.identity || !input.issuer) {
    throw new ActionError('a policy needs the exact certificate identity and issuer', { fix: 'pass the identity and issuer of the signing certificate' });
  }
}

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

function snippet(object: PolicySnippet['object'], title: string, input: PolicyInput, notes: string[]): PolicySnippet {
  const metadata = object.metadata as { name: string };
  const header = [
    `${title} (${input.stage} stage), generated by kupecloud/sign-action.`,
    `Checks that images matching ${input.imagePattern} are signed by ${input.identity} (issuer ${input.issuer}).`,
    ...(input.attestations?.length ? [`Also requires attestations by that identity of type ${input.attestations.join(', ')}.`] : []),
    input.stage === 'audit' ? 'Audit: reports failures and blocks nothing. Once reports are clean, apply the enforce version.' : 'Enforce: pods with unsigned or otherwise-signed images are rejected.',
    ...notes,
  ];
  return { apiVersion: object.apiVersion as string, kind: object.kind as string, name: metadata.name, object, yaml: toYaml(object, header), notes };
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
