/**
 * `verify: true`: read every signature we wrote back from the registry and
 * verify it as a verifier would, for the run's own identity and issuer.
 */
import type { SigningCertificate } from '../identity/certificate.js';
import type { SignatureRecord } from '../sign/types.js';
import type { Subject } from '../subjects/resolve.js';
import { selfCheckBundle, type BundleReader } from './bundle.js';
import type { SignatureVerdict } from './check.js';
import { layerLogIndex, verifyLegacySignatures } from './legacy.js';
import { recallingReader } from './recall.js';
import type { Trust } from './trust.js';

export async function selfCheck(
  registry: BundleReader,
  records: SignatureRecord[],
  subjects: Subject[],
  trust: Trust,
  cert: SigningCertificate,
): Promise<Map<SignatureRecord, SignatureVerdict | undefined>> {
  const policy = { exact: cert.identity, issuer: cert.issuer };
  const out = new Map<SignatureRecord, SignatureVerdict | undefined>();
  // What the appends read back is served from memory: only each signature's layer blob is new.
  const reader = recallingReader(registry, records.flatMap((r) => r.readBack ?? []));
  for (const record of records) {
    // Found by `if-signed: skip`, verified then, and not written by this run: nothing to read back.
    if (record.checked) {
      out.set(record, record.checked);
      continue;
    }
    const subject = subjects.find((s) => `${s.dockerReference}@${s.digest}` === record.image);
    if (!subject) continue;
    if (record.format === 'bundle') {
      out.set(record, await selfCheckBundle(reader, record, subject.repo, trust, cert));
      continue;
    }
    // Read back only our own layer (found by its log index): a .sig may hold up to 1000 others.
    const verdicts = await verifyLegacySignatures(reader, subject.repo, subject.digest, trust, policy, {
      only: (layer) => layerLogIndex(layer) === record.rekor.logIndex,
    });
    // Ours is the layer whose log entry we were given; other layers may be other runs' signatures.
    out.set(
      record,
      verdicts.find((v) => v.logIndex === record.rekor.logIndex && v.integratedTime === record.rekor.integratedTime),
    );
  }
  return out;
}
