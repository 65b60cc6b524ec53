/** The JSON form of written signatures (`signatures` output), shared by the `attestations` output. */
import type { SignatureRecord } from '../sign/types.js';

export function signaturesJson(records: SignatureRecord[]): unknown[] {
  return records.map((r) => ({
    image: r.image,
    digest: r.digest,
    format: r.format,
    reference: r.reference,
    rekor: { logIndex: r.rekor.logIndex, logId: r.rekor.logId, integratedTime: r.rekor.integratedTime, uuid: r.rekor.uuid, url: r.rekor.url },
    bundlePath: r.bundlePath,
    ...(r.platform ? { platform: r.platform } : {}),
    ...(r.skipped ? { skipped: true } : {}),
  }));
}
