import type { SignatureVerdict } from '../verify/check.js';

/** What signing produced, per signature: the raw material of every output and the summary. */
export interface LogEntryRef {
  logIndex: number;
  logId: string;
  integratedTime: number;
  uuid: string;
  url: string;
  kind: string;
}

export interface SignatureRecord {
  /** `repo@sha256:…` */
  image: string;
  digest: string;
  format: 'legacy' | 'bundle';
  /** Where it is stored: `repo:sha256-<hex>.sig` or `repo@sha256:<referrer>`. */
  reference: string;
  rekor: LogEntryRef;
  bundlePath: string;
  /** `linux/arm64` etc. for children of an index. */
  platform?: string;
  /** Things the user should know about this signature (shown as warnings). */
  notes?: string[];
  /** `if-signed: skip`: our signature was there already, and nothing was written. */
  skipped?: boolean;
  /** Its verdict when it was found (the self-check does not read it again); not an output. */
  checked?: SignatureVerdict;
  /** Manifests as read back after writing (or pushed by digest), for the self-check; not an output. */
  readBack?: Recalled[];
}

/** A manifest this run already holds, at `registry/repository` and `ref` (tag or digest). */
export interface Recalled {
  registry: string;
  repository: string;
  ref: string;
  manifest: { body: Buffer; json: unknown };
}
