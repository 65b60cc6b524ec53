/** What attesting is asked for and what it produced. */
import type { SignatureRecord } from '../sign/types.js';

// Read from the inputs, so defined beside them (config-types.ts); named here too for the attest flow.
export type { AttestationSpec } from '../config-types.js';

/** Like a signature record (the `signatures` output), plus the predicate type. */
export interface AttestationRecord extends SignatureRecord {
  predicateType: string;
  /** The `.att` layer's or the referrer's digest: what the self-check reads back. */
  storedDigest: string;
}
