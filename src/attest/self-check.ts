/**
 * The self-check of attestations: read each one back from where verifiers
 * find it and verify it as they do, for the run's identity and issuer —
 * the `.att` layer as cosign 2 `verify-attestation` (certificate chain,
 * signed entry timestamp, the log entry's envelope hash = the layer, DSSE
 * signature, subject digest), the referrer as cosign 3 / gh (listed among the
 * referrers with the bundle artifact type, one layer, bundle verifies, subject
 * digest). Attestations are large (SBOMs): only our own element is fetched.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import { ANNOTATION_BUNDLE_PREDICATE_TYPE, attestationTag, MAX_PREDICATE_BYTES, ANNOTATION_PREDICATE_TYPE_LEGACY } from '../formats/attestation-constants.js';
import { BUNDLE_MEDIA_TYPE, type Descriptor } from '../formats/bundle.js';
import { ANNOTATION_CHAIN, type LayerDescriptor } from '../formats/legacy.js';
import type { SigningCertificate } from '../identity/certificate.js';
import type { Subject } from '../subjects/resolve.js';
import { listReferrers, type BundleReader } from '../verify/bundle.js';
import { failed, verifyBundle, type SignatureVerdict } from '../verify/check.js';
import { statementVerdict, type Envelope } from '../verify/attestation-check.js';
import { verifyAttestationLayer } from '../verify/attestation-legacy.js';
import type { Trust } from '../verify/trust.js';
import type { AttestationRecord } from './types.js';

/** An envelope or bundle is at most the 16 MiB predicate, base64'd, plus its wrapping. */
const MAX_STORED_BYTES = Math.ceil((MAX_PREDICATE_BYTES * 4) / 3) + 1024 * 1024;

async function checkLegacy(reader: BundleReader, record: AttestationRecord, subject: Subject, trust: Trust, cert: SigningCertificate): Promise<SignatureVerdict> {
  const base = { format: 'legacy' as const, reference: record.reference };
  const manifest = await reader.getManifest(subject.repo, attestationTag(record.digest));
  const layer = ((manifest?.json as { layers?: LayerDescriptor[] } | undefined)?.layers ?? []).find((l) => l.digest === record.storedDigest);
  if (!layer) return failed(base, 'none-found', `the layer ${record.storedDigest} is not in ${record.reference}`);
  const a = layer.annotations ?? {};
  // Stricter than verify mode, which only notes these: what we write must serve every reader.
  if (!a[ANNOTATION_CHAIN]) return failed(base, 'chain', 'no certificate chain annotation: Kyverno `type: Cosign` cannot verify it');
  if (a[ANNOTATION_PREDICATE_TYPE_LEGACY] !== record.predicateType) return failed(base, 'malformed', 'the layer has no or another predicateType annotation');
  const blob = await reader.getBlob(subject.repo, layer.digest, MAX_STORED_BYTES);
  // The same judgement verify mode makes (cosign 2's checks: log entry = this envelope, chain, SET, DSSE, statement).
  return verifyAttestationLayer(layer, blob, record.digest, trust, { exact: cert.identity, issuer: cert.issuer }, record.reference, record.predicateType);
}

async function checkBundle(reader: BundleReader, record: AttestationRecord, subject: Subject, trust: Trust, cert: SigningCertificate): Promise<SignatureVerdict> {
  const base = { format: 'bundle' as const, reference: record.reference };
  const listed: Descriptor | undefined = (await listReferrers(reader, subject.repo, record.digest)).find((d) => d.digest === record.storedDigest);
  if (!listed) return failed(base, 'none-found', `the referrer ${record.storedDigest} is not listed among the referrers of ${record.digest}`);
  if (listed.artifactType !== BUNDLE_MEDIA_TYPE) return failed(base, 'malformed', `the referrer is listed with artifactType ${listed.artifactType ?? 'none'}: gh does not find it`);
  if (listed.annotations && listed.annotations[ANNOTATION_BUNDLE_PREDICATE_TYPE] !== record.predicateType) {
    return failed(base, 'malformed', 'the referrer is listed without its predicate type annotation');
  }
  const manifest = (await reader.getManifest(subject.repo, record.storedDigest))?.json as { layers?: Descriptor[]; subject?: { digest?: string } } | undefined;
  const layers = manifest?.layers ?? [];
  if (layers.length !== 1 || !layers[0].mediaType.startsWith('application/vnd.dev.sigstore.bundle')) return failed(base, 'malformed', 'the referrer does not hold exactly one bundle layer');
  if (manifest?.subject?.digest !== record.digest) return failed(base, 'digest-claim', `the referrer's subject is ${manifest?.subject?.digest ?? 'missing'}`);
  const json = JSON.parse((await reader.getBlob(subject.repo, layers[0].digest, MAX_STORED_BYTES)).toString('utf8')) as SerializedBundle;
  const verdict = verifyBundle(json, undefined, trust, { exact: cert.identity, issuer: cert.issuer }, base);
  if (!verdict.ok) return verdict;
  return statementVerdict(verdict, (json as { dsseEnvelope?: Envelope }).dsseEnvelope ?? {}, record.digest, record.predicateType);
}

export async function selfCheckAttestations(
  reader: BundleReader,
  records: AttestationRecord[],
  subjects: Subject[],
  trust: Trust,
  cert: SigningCertificate,
): Promise<Map<AttestationRecord, SignatureVerdict | undefined>> {
  const out = new Map<AttestationRecord, SignatureVerdict | undefined>();
  for (const record of records) {
    const subject = subjects.find((s) => `${s.dockerReference}@${s.digest}` === record.image);
    if (!subject) continue;
    try {
      out.set(record, record.format === 'legacy' ? await checkLegacy(reader, record, subject, trust, cert) : await checkBundle(reader, record, subject, trust, cert));
    } catch (err) {
      out.set(record, failed({ format: record.format, reference: record.reference }, 'unreadable', `could not be read back: ${(err as Error).message}`));
    }
  }
  return out;
}
