/**
 * SLSA v1 build provenance of this run, field for field as
 * actions/attest-build-provenance builds it (@actions/toolkit
 * packages/attest/src/provenance.ts, buildSLSAProvenancePredicate, since
 * @actions/attest 1.3.0; attestations.md §3). The values come from the claims
 * of the GitHub OIDC token the run's certificate was issued for, so the
 * provenance names exactly what the certificate certifies: `builder.id` is the
 * certificate's identity.
 */
import { ActionError } from '../errors.js';
import { GITHUB_WORKFLOW_BUILD_TYPE } from '../formats/attestation-constants.js';

/** The claims the predicate is built from (all GitHub Actions tokens carry them). */
export const PROVENANCE_CLAIMS = [
  'ref',
  'sha',
  'repository',
  'event_name',
  'job_workflow_ref',
  'workflow_ref',
  'repository_id',
  'repository_owner_id',
  'runner_environment',
  'run_id',
  'run_attempt',
] as const;

export type ProvenanceClaims = Record<(typeof PROVENANCE_CLAIMS)[number], string>;

export interface SlsaProvenanceV1 {
  buildDefinition: {
    buildType: string;
    externalParameters: { workflow: { ref: string; repository: string; path: string } };
    internalParameters: { github: { event_name: string; repository_id: string; repository_owner_id: string; runner_environment: string } };
    resolvedDependencies: { uri: string; digest: { gitCommit: string } }[];
  };
  runDetails: { builder: { id: string }; metadata: { invocationId: string } };
}

/** The claims as strings, or an error naming the missing ones (a token that is not GitHub Actions'). */
export function provenanceClaims(claims: Record<string, unknown>): ProvenanceClaims {
  const missing = PROVENANCE_CLAIMS.filter((c) => typeof claims[c] !== 'string' && typeof claims[c] !== 'number');
  if (missing.length) {
    throw new ActionError(`the OIDC token lacks claims the build provenance is made of: ${missing.join(', ')}`, {
      input: 'attest',
      fix: 'build provenance describes a GitHub Actions run: use it in a GitHub Actions job (or remove `provenance` from attest)',
    });
  }
  return Object.fromEntries(PROVENANCE_CLAIMS.map((c) => [c, String(claims[c])])) as ProvenanceClaims;
}

/**
 * The predicate. `serverUrl` is GITHUB_SERVER_URL (https://github.com, or a
 * GHE host), the only value actions/attest takes from the environment.
 */
export function buildProvenancePredicate(claims: ProvenanceClaims, serverUrl: string): SlsaProvenanceV1 {
  const server = serverUrl.replace(/\/+$/, '');
  // `owner/repo/.github/workflows/x.yml@refs/…` → `.github/workflows/x.yml` (the text before the first `@`).
  const [workflowPath] = claims.workflow_ref.replace(`${claims.repository}/`, '').split('@');
  return {
    buildDefinition: {
      buildType: GITHUB_WORKFLOW_BUILD_TYPE,
      externalParameters: {
        workflow: { ref: claims.ref, repository: `${server}/${claims.repository}`, path: workflowPath },
      },
      internalParameters: {
        github: {
          event_name: claims.event_name,
          repository_id: claims.repository_id,
          repository_owner_id: claims.repository_owner_id,
          runner_environment: claims.runner_environment,
        },
      },
      resolvedDependencies: [{ uri: `git+${server}/${claims.repository}@${claims.ref}`, digest: { gitCommit: claims.sha } }],
    },
    runDetails: {
      builder: { id: `${server}/${claims.job_workflow_ref}` },
      metadata: { invocationId: `${server}/${claims.repository}/actions/runs/${claims.run_id}/attempts/${claims.run_attempt}` },
    },
  };
}

/**
 * Verifiers tie provenance to its signer by the certificate: the builder the
 * predicate names must be the identity the certificate was issued to.
 */
export function assertBuilderIsSigner(predicate: SlsaProvenanceV1, certificateIdentity: string): void {
  if (predicate.runDetails.builder.id !== certificateIdentity) {
    throw new ActionError(
      `the build provenance would name the builder ${predicate.runDetails.builder.id}, but the signing certificate names ${certificateIdentity}; nothing was attested`,
      { input: 'attest', fix: 'check GITHUB_SERVER_URL: it must be the host the OIDC token and the certificate name' },
    );
  }
}
