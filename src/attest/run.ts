/**
 * Every attestation of the run: each predicate asked for (built-in provenance,
 * a custom one) about each image, in the layouts `signature-format` names,
 * with the run's one certificate. Failures are collected per attestation, as
 * for signatures, so one refused image does not hide the others.
 */
import type { Config } from '../config-types.js';
import { ActionError } from '../errors.js';
import { SLSA_PROVENANCE_V1 } from '../formats/attestation-constants.js';
import type { SigningCertificate } from '../identity/certificate.js';
import type { BundleSigningContext } from '../sign/bundle.js';
import type { Subject } from '../subjects/resolve.js';
import { settleLimited } from '../util/pool.js';
import { assertBuilderIsSigner, buildProvenancePredicate, provenanceClaims } from './provenance.js';
import { attestSubject, type Layout } from './sign.js';
import type { AttestationRecord, AttestationSpec } from './types.js';

export interface AttestRun {
  records: AttestationRecord[];
  /** One line per attestation that failed: `<image> (<predicate type>): <cause>`. */
  failures: string[];
  /** Attestations attempted (images × predicates). */
  attempted: number;
}

export const wantsAttestations = (config: Config): boolean => Boolean(config.attest?.provenance || config.attest?.custom);

/** The predicates of this run; provenance from the OIDC token's claims, naming the certificate's identity. */
export function attestationSpecs(config: Config, claims: Record<string, unknown> | undefined, cert: SigningCertificate): AttestationSpec[] {
  const specs: AttestationSpec[] = [];
  if (config.attest?.provenance) {
    const predicate = buildProvenancePredicate(provenanceClaims(claims ?? {}), config.runner.serverUrl);
    assertBuilderIsSigner(predicate, cert.identity);
    specs.push({ predicateType: SLSA_PROVENANCE_V1, predicate, source: 'provenance' });
  }
  if (config.attest?.custom) specs.push(config.attest.custom);
  return specs;
}

export function layoutsFor(config: Config): Layout[] {
  return config.signatureFormat === 'both' ? ['legacy', 'bundle'] : [config.signatureFormat];
}

export async function attestAll(
  config: Config,
  ctx: BundleSigningContext,
  subjects: Subject[],
  specs: AttestationSpec[],
  concurrency: number,
): Promise<AttestRun> {
  const layouts = layoutsFor(config);
  // About the digests named, as actions/attest does: `recursive` signs each child of an index,
  // but one provenance (and one SBOM) describes the build, not each platform manifest again.
  const named = subjects.filter((s) => !s.parent);
  const tasks = named.flatMap((subject) => specs.map((spec) => ({ subject, spec })));
  const settled = await settleLimited(tasks, concurrency, (t) => attestSubject(t.subject, t.spec, layouts, ctx));
  const run: AttestRun = { records: [], failures: [], attempted: tasks.length };
  settled.forEach((r, i) => {
    const { subject, spec } = tasks[i];
    const image = `${subject.dockerReference}@${subject.digest}`;
    if (r.status === 'fulfilled') {
      run.records.push(...r.value);
      return;
    }
    const text = r.reason instanceof Error ? r.reason.message : String(r.reason);
    const cause = text.startsWith(`${image}: `) ? text.slice(image.length + 2) : text;
    run.failures.push(`${image} (attestation ${spec.predicateType}): ${r.reason instanceof ActionError ? cause : `unexpected error: ${cause}`}`);
  });
  return run;
}
