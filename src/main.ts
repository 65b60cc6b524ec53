/**
 * The pipeline: inputs → subjects → identity/certificate → signatures → registry
 * → self-check → report. One try/catch turns every failure into setFailed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as core from '@actions/core';
import { SLSA_PROVENANCE_V1 } from './formats/attestation-constants.js';
import { attestAll, attestationSpecs, wantsAttestations, type AttestRun } from './attest/run.js';
import { selfCheckAttestations } from './attest/self-check.js';
import type { AttestationRecord } from './attest/types.js';
import { assertPublicLogAllowed } from './config.js';
import type { Config } from './config-types.js';
import { ActionError, SummarizedError } from './errors.js';
import { EphemeralSigner } from './identity/certificate.js';
import { requestIdToken } from './identity/token.js';
import type { RegistryClient } from './registry/client.js';
import { createRegistryClient } from './registry/factory.js';
import { attestationCommandsFor } from './report/attestation-commands.js';
import { logAttestations } from './report/attestations.js';
import { setSignOutputs } from './report/outputs.js';
import { failureMarkdown, signSummaryMarkdown, writeSummary } from './report/summary.js';
import { verifyCommandsFor } from './report/verify-commands.js';
import { policiesFor } from './report/policy-output.js';
import { signBundle, type BundleSigningContext } from './sign/bundle.js';
import { findExisting, type ExistingContext } from './sign/existing.js';
import { signLegacy } from './sign/legacy.js';
import { signingServices } from './sign/services.js';
import type { SignatureRecord } from './sign/types.js';
import { resolveSubjects, resolveSubjectsSettled, type Subject } from './subjects/resolve.js';
import { RekorClient } from './transparency/rekor.js';
import { RekorV2Client } from './transparency/rekor-v2.js';
import { TimestampClient } from './transparency/tsa.js';
import type { SignatureVerdict } from './verify/check.js';
import { selfCheck } from './verify/self-check.js';
import { loadTrust } from './verify/trust.js';
import { settleLimited } from './util/pool.js';
import { runVerifyMode } from './verify/mode.js';

/** Parallel signatures: the public Rekor rate-limits per client; a private instance takes more. */
export const concurrencyFor = (config: Config): number => (config.sigstore.kind === 'public-good' ? 4 : 8);

function errorText(err: unknown): string {
  return err instanceof ActionError ? err.message : err instanceof Error ? `${err.message}` : String(err);
}

async function signAll(config: Config, registry: RegistryClient, subjects: Subject[]): Promise<void> {
  // The first token's claims: what the build provenance says about this run (the certificate certifies the same).
  let claims: Record<string, unknown> | undefined;
  const checkedToken = async () => {
    const token = await requestIdToken(config.runner.idTokenUrl, config.runner.idTokenRequestToken);
    assertPublicLogAllowed(config, String(token.claims.repository_visibility ?? ''));
    claims ??= token.claims;
    return token;
  };
  // On public-good, the token's repository_visibility is checked before any public service is
  // asked anything, Sigstore's TUF repository included; the first certificate then uses it.
  let early = config.sigstore.kind === 'public-good' ? await checkedToken() : undefined;
  const services = await signingServices(config);
  const signer = new EphemeralSigner(services.fulcioUrl, () => {
    const token = early;
    early = undefined;
    return token ? Promise.resolve(token) : checkedToken();
  });
  // A custom instance may run Rekor v2 only: bundles can be logged there (with a timestamp), legacy signatures cannot.
  const rekorV2 = services.rekorMajor === 2 ? new RekorV2Client(services.rekorUrl) : undefined;
  if (rekorV2 && config.signatureFormat !== 'bundle') {
    throw new ActionError(`${services.rekorUrl} is a Rekor v2 log, which gives no signed entry timestamp: legacy .sig signatures need Rekor v1`, {
      input: 'signature-format',
      fix: 'use `signature-format: bundle` with this instance, or point `rekor-url` at a Rekor v1 log',
    });
  }
  const bundleDir = await fs.mkdtemp(path.join(config.runner.temp, 'sign-action-bundles-'));
  const ctx: BundleSigningContext = {
    signer,
    rekor: new RekorClient(services.rekorUrl),
    registry,
    annotations: config.annotations,
    bundleDir,
    instance: config.sigstore.kind,
    tsa: services.tsaUrl ? new TimestampClient(services.tsaUrl) : undefined,
    rekorV2,
  };
  // Public-good's timestamp authority dates bundles only (see sign/services.ts).
  const legacyCtx = services.tsaForLegacy ? ctx : { ...ctx, tsa: undefined };

  const cert = await signer.certificate();
  // Fetch the trusted root while we sign (it is needed only afterwards), once the
  // identity checks behind the certificate have passed.
  // `if-signed: skip` needs it too, before signing, to verify what is there already.
  const root = config.verify || config.ifSigned === 'skip' ? loadTrust(config.sigstore) : undefined;
  root?.catch(() => undefined);
  const trust = config.verify ? root : undefined;
  const existing: ExistingContext | undefined =
    root && config.ifSigned === 'skip'
      ? { registry, trust: root, cert, instance: config.sigstore.kind, rekorUrl: config.sigstore.rekorUrl, bundleDir }
      : undefined;
  core.info(`Signing as ${cert.identity} (issuer ${cert.issuer}); certificate valid until ${cert.notAfter.toISOString()}`);
  // Built (and checked against the certificate) before anything is written.
  const specs = wantsAttestations(config) ? attestationSpecs(config, claims, cert) : [];
  // One task per subject and format; `both` signs each subject twice with the one certificate.
  const formats = config.signatureFormat === 'both' ? (['legacy', 'bundle'] as const) : ([config.signatureFormat] as const);
  const tasks = subjects.flatMap((subject) => formats.map((format) => ({ subject, format })));
  const settled = await settleLimited(tasks, concurrencyFor(config), async (t) => {
    const found = existing ? await findExisting(t.subject, t.format, existing) : undefined;
    if (found?.record) return found.record;
    return t.format === 'bundle' ? signBundle(t.subject, ctx) : signLegacy(t.subject, legacyCtx, found?.likely);
  });
  const records: SignatureRecord[] = [];
  const failures: string[] = [];
  settled.forEach((r, i) => {
    const { subject, format } = tasks[i];
    const image = `${subject.dockerReference}@${subject.digest}`;
    const name = `${image}${formats.length > 1 ? ` (${format})` : ''}`;
    if (r.status === 'fulfilled') {
      records.push(r.value);
      core.startGroup(`${r.value.skipped ? '⏭️' : '✍️'} ${name}`);
      if (r.value.skipped) core.info('already signed by this identity, and it verifies (if-signed: skip): nothing written');
      core.info(`stored at ${r.value.reference}`);
      core.info(`transparency log entry ${r.value.rekor.logIndex}: ${r.value.rekor.url}`);
      core.info(`bundle: ${r.value.bundlePath}`);
      core.endGroup();
      for (const note of r.value.notes ?? []) core.warning(`${name}: ${note}`);
    } else {
      const text = errorText(r.reason);
      failures.push(text.startsWith(`${image}: `) ? `${name}: ${text.slice(image.length + 2)}` : `${name}: ${text}`);
    }
  });

  const attested: AttestRun | undefined = specs.length ? await attestAll(config, ctx, subjects, specs, concurrencyFor(config)) : undefined;
  if (attested) logAttestations(attested.records);

  // The signatures are written: whatever happens to the self-check, the outputs below are set.
  let verdicts = new Map<SignatureRecord, SignatureVerdict | undefined>();
  let attVerdicts = new Map<AttestationRecord, SignatureVerdict | undefined>();
  let notChecked = 'not found when read back';
  if (trust && records.length) {
    try {
      verdicts = await selfCheck(registry, records, subjects, await trust, cert);
      if (attested?.records.length) attVerdicts = await selfCheckAttestations(registry, attested.records, subjects, await trust, cert);
    } catch (err) {
      notChecked = `could not be checked: ${errorText(err)}`;
    }
  }
  // Skipped signatures were verified when found, `verify` or not.
  for (const r of records) if (r.checked && !verdicts.has(r)) verdicts.set(r, r.checked);
  const whyNot = (r: SignatureRecord): string => verdicts.get(r)?.reason ?? notChecked;
  const unverified = records.filter((r) => trust && !verdicts.get(r)?.ok);
  const attestations = attested?.records ?? [];
  const unverifiedAtt = attestations.filter((r) => trust && !attVerdicts.get(r)?.ok);
  for (const r of records) {
    if (!trust || verdicts.get(r)?.ok) core.notice(`${r.skipped ? 'Already signed' : 'Signed'} ${r.image} (${r.format}); log entry ${r.rekor.url}`, { title: 'Image signed' });
    else core.error(`${r.image}: the signature written does not verify: ${whyNot(r)}`);
  }
  const verifyCommands = verifyCommandsFor(config, records, cert.identity, cert.issuer);
  // Provenance written by this run is worth requiring in the cluster too (not a custom predicate:
  // whether a cluster should demand an SBOM is the team's call).
  const required = config.attest?.provenance ? [SLSA_PROVENANCE_V1] : [];
  const policies = policiesFor(config, records.map((r) => r.image), cert.identity, cert.issuer, config.signatureFormat, required);
  setSignOutputs({
    records,
    identity: cert.identity,
    issuer: cert.issuer,
    bundleDir,
    verifyCommands,
    policies,
    verified: Boolean(trust) && failures.length === 0 && unverified.length === 0 && !attested?.failures.length && unverifiedAtt.length === 0,
    attestations,
  });
  const failed = [
    ...failures,
    ...unverified.map((r) => `${r.image} (${r.format}): written, but does not verify: ${whyNot(r)}`),
    ...(attested?.failures ?? []),
    ...unverifiedAtt.map((r) => `${r.image} (${r.format} attestation ${r.predicateType}): written, but does not verify: ${attVerdicts.get(r)?.reason ?? notChecked}`),
  ];
  if (config.summary) {
    await writeSummary(
      signSummaryMarkdown({ records, verdicts, attestations, attVerdicts, attCommands: attestationCommandsFor(config, attestations, cert.identity, cert.issuer), identity: cert.identity, issuer: cert.issuer, verifyCommands, policies, selfCheck: Boolean(trust), failures: failed }),
    );
  }
  if (failed.length) {
    const good = records.length - unverified.length + attestations.length - unverifiedAtt.length;
    const kept = good ? ` (${good} other signature${good === 1 ? ' was' : 's were'} written, verified and kept)` : '';
    const of = tasks.length + (attested?.attempted ?? 0);
    throw new SummarizedError(`${failed.length} of ${of} signature(s)${attested ? ' and attestation(s)' : ''} failed${kept}:\n${failed.join('\n')}`);
  }
}

/** Verify mode. With `audit`, an image that cannot be found is a warning too: nothing fails the step. */
async function verifyImages(config: Config, registry: RegistryClient): Promise<void> {
  const resolved = await resolveSubjectsSettled(config.images, registry, { recursive: config.recursive, purpose: 'verify' }, core);
  if (resolved.unresolved.length && !config.audit) throw resolved.unresolved[0].error;
  for (const { ref, error } of resolved.unresolved) {
    core.warning(`${errorText(error).startsWith(ref.original) ? '' : `${ref.original}: `}${errorText(error)}`, { title: 'Would fail verification (audit)' });
  }
  await runVerifyMode(config, registry, resolved.subjects);
  if (resolved.unresolved.length) core.setOutput('verified', 'false');
}

export async function run(config: Config): Promise<void> {
  try {
    const registry = createRegistryClient(config);
    if (config.mode === 'verify') {
      await verifyImages(config, registry);
      return;
    }
    const subjects = await resolveSubjects(config.images, registry, { recursive: config.recursive, purpose: config.mode }, core);
    await signAll(config, registry, subjects);
  } catch (err) {
    const message =
      err instanceof ActionError ? err.message : `unexpected error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    core.setFailed(message);
    // Failures before any table exists still get a summary, cause first.
    if (config.summary && !(err instanceof SummarizedError)) {
      await writeSummary(failureMarkdown(config.mode === 'verify' ? 'Verification failed' : 'Signing failed', [message]).join('\n')).catch(() => undefined);
    }
  }
}
