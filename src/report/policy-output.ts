/**
 * The cluster policy snippets of a run (./policies.ts builds each one): for the
 * exact identity and issuer, one set per repository, in both rollout stages,
 * as YAML documents for the `policies-audit` / `policies-enforce` outputs and
 * for the job summary. Never fails the step: when no snippet can be written,
 * the report says why.
 */
import { readFileSync } from 'node:fs';
import type { Config, SignatureFormat } from '../config-types.js';
import { policySnippets, type PolicySnippet, type PolicySnippets, type RolloutStage } from './policies.js';

export interface PolicySet {
  /** `ghcr.io/acme/app`: the repository these policies cover. */
  repository: string;
  imagePattern: string;
  audit: PolicySnippets;
  enforce: PolicySnippets;
}

export interface PolicyReport {
  identity?: string;
  issuer: string;
  sets: PolicySet[];
  /** Predicate types the policies also require attestations of. */
  attestations?: string[];
  /** Why there are no snippets (or fewer than repositories), for the summary. */
  unavailable?: string;
}

/** `repo@sha256:…` or `repo:tag` → `repo` (a `:` after the last `/` is a tag, before it a port). */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/**
 * The policy image pattern of a repository: `repo*` (so tags and digests of it
 * match). Docker Hub is written `docker.io/…` as Kyverno normalises it; the
 * policy-controller snippet turns that into `index.docker.io/…` itself.
 */
export function imagePatternFor(repository: string): string {
  return `${repository.replace(/^index\.docker\.io\//, 'docker.io/')}*`;
}

function customInput(config: Config): { fulcioUrl: string; rekorUrl: string; trustedRootJson?: string } | undefined {
  const s = config.sigstore;
  if (s.kind !== 'custom') return undefined;
  let trustedRootJson: string | undefined;
  try {
    trustedRootJson = s.trustedRootPath ? readFileSync(s.trustedRootPath, 'utf8') : undefined;
  } catch {
    trustedRootJson = undefined; // the snippets then say which keys to add by hand
  }
  return { fulcioUrl: s.fulcioUrl, rekorUrl: s.rekorUrl, trustedRootJson };
}

/**
 * Snippets for `identity` (exact) on every repository of `images`.
 * `attestations`: predicate types (URIs) the policies require too, by the same
 * identity: what the run attested, or what verify mode verified. Never more:
 * a policy requiring an attestation nobody writes would block every pod.
 */
export function policiesFor(
  config: Config,
  images: string[],
  identity: string | undefined,
  issuer: string,
  format: SignatureFormat,
  attestations: string[] = [],
): PolicyReport {
  if (!identity) {
    return { issuer, sets: [], unavailable: 'no single exact identity to write policies for: set `certificate-identity` (a regexp matched none or several identities)' };
  }
  const custom = customInput(config);
  const sets: PolicySet[] = [];
  const problems: string[] = [];
  for (const repository of [...new Set(images.map(repositoryOf))]) {
    const imagePattern = imagePatternFor(repository);
    const input = (stage: RolloutStage) => ({ identity, issuer, imagePattern, format, stage, custom, attestations: [...new Set(attestations)] });
    try {
      sets.push({ repository, imagePattern, audit: policySnippets(input('audit')), enforce: policySnippets(input('enforce')) });
    } catch (err) {
      problems.push(`${repository}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return {
    identity,
    issuer,
    sets,
    ...(attestations.length ? { attestations: [...new Set(attestations)] } : {}),
    unavailable: problems.length ? `no policies for ${problems.join('; ')}` : undefined,
  };
}

/** In the order to apply them: a TrustRoot before the ClusterImagePolicies that name it. */
export const snippetsOf = (s: PolicySnippets): PolicySnippet[] => [
  s.kyvernoClusterPolicy,
  s.kyvernoImageValidatingPolicy,
  ...(s.policyControllerTrustRoot ? [s.policyControllerTrustRoot] : []),
  s.policyControllerClusterImagePolicy,
  ...(s.policyControllerAttestationPolicy ? [s.policyControllerAttestationPolicy] : []),
];

/** Every snippet of one stage as a multi-document YAML stream; each document's comments name the verifier it is for. */
export function policiesYaml(report: PolicyReport, stage: RolloutStage): string {
  return report.sets.flatMap((set) => snippetsOf(set[stage]).map((s) => s.yaml)).join('---\n');
}
