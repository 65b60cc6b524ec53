/**
 * The typed form of the action's inputs (see action.yml / contract.md).
 * `config.ts` builds it; everything after reads only this.
 */
import type { ImageRef } from './subjects/reference.js';
import type { PredicateTypeChoice } from './verify/attestation-types.js';

export type Mode = 'sign' | 'verify';
export type SignatureFormat = 'legacy' | 'bundle' | 'both';
export type Recursive = 'none' | 'platforms' | 'all';
/** `if-signed` (v1.1): what to do when our identity's signature of a digest, in a format, is already there. */
export type IfSigned = 'append' | 'skip';

export interface IdentityPolicy {
  /** Exact certificate SAN (compared literally, never as a pattern). */
  exact?: string;
  /** A regular expression the SAN must match (we anchor it: see README). */
  regexp?: string;
  /** Exact OIDC issuer. */
  issuer: string;
}

export interface SigstoreInstance {
  kind: 'public-good' | 'custom';
  fulcioUrl: string;
  rekorUrl: string;
  /**
   * Verify mode without `rekor-url`: `rekorUrl` is the trusted root's newest log, a stand-in
   * until the signatures found name the log that recorded them (see report/signing-log.ts).
   */
  rekorUrlFromTrustedRoot?: boolean;
  tsaUrl?: string;
  /** Path of trusted_root.json (custom); public-good comes from Sigstore's TUF repository. */
  trustedRootPath?: string;
  /** public-good, `rekor-v2: true`: sign with the Rekor v2 log (and TSA) of Sigstore's Rekor v2 signing config. */
  rekorV2?: boolean;
}

export interface RegistryCredentialsInput {
  username: string;
  password: string;
}

export interface Config {
  mode: Mode;
  /** Parsed `images` (or `metadata`), each with its digest filled in from `digest` when it had none. */
  images: ImageRef[];
  recursive: Recursive;
  signatureFormat: SignatureFormat;
  /** `annotations`, keys sorted. */
  annotations: Record<string, string>;
  verify: boolean;
  /** Sign mode: `skip` writes nothing for a digest and format our identity's verified signature already covers. */
  ifSigned: IfSigned;
  /** verify mode only. */
  identity?: IdentityPolicy;
  /** verify mode with `predicate-type`: verify attestations of this type instead of signatures. */
  verifyAttestation?: PredicateTypeChoice;
  audit: boolean;
  registryCredentials?: RegistryCredentialsInput;
  githubToken?: string;
  sigstore: SigstoreInstance;
  allowPublicLog: boolean;
  /** Sign mode: attestations to write beside the signatures (v1.1); absent or empty: none. */
  attest?: AttestInputs;
  summary: boolean;
  /** From the environment the runner sets. */
  runner: {
    temp: string;
    repository?: string;
    serverUrl: string;
    /** `public`, `private`, `internal`, or undefined when the event does not say. */
    visibility?: 'public' | 'private' | 'internal';
    idTokenUrl?: string;
    idTokenRequestToken?: string;
  };
}

/** One predicate to attest about every image of the run. */
export interface AttestationSpec {
  predicateType: string;
  /** The predicate, parsed JSON (an object). */
  predicate: unknown;
  /** Where it came from, for messages: `provenance`, `predicate`, `predicate-path (sbom.spdx.json)`. */
  source: string;
}

/** Sign mode's `attest`, `predicate-type`, `predicate`, `predicate-path` (config-attest.ts reads them). */
export interface AttestInputs {
  /** `attest: provenance`: SLSA v1 build provenance, built at run time from the OIDC token's claims. */
  provenance: boolean;
  /** `predicate-type` with `predicate` or `predicate-path`. */
  custom?: AttestationSpec;
}
