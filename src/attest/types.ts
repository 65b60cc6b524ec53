/** What attesting is asked for and what it produced. */
import type { SignatureRecord } from '../sign/types.js';

/** One predicate to attest about every image of the run. */
export interface AttestationSpec {
  predicateType: string;
  /** The predicate, parsed JSON (an object). */
  predicate: unknown;
  /** Where it came from, for messages: `provenance`, `predicate`, `predicate-path (sbom.spdx.json)`. */
  source: string;
}

/** Like a signature record (the `signatures` output), plus the predicate type. */
export interface AttestationRecord extends SignatureRecord {
  predicateType: string;
  /** The `.att` layer's or the referrer's digest: what the self-check reads back. */
  storedDigest: string;
}
