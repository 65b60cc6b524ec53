/**
 * The storage behind both sandbox Rekors: an append-only list of canonical
 * entry bodies over an RFC 6962 tree, deduplicated by leaf hash, with signed
 * checkpoints ("signed notes") in the format Rekor serves and sigstore
 * verifiers parse.
 */
import crypto from 'node:crypto';
import { hashLeaf, MerkleTree } from './merkle.js';

export interface StoredEntry {
  index: number;
  body: Buffer;
  leafHash: Buffer;
  /** Seconds since the epoch at which the entry was appended. */
  integratedTime: number;
}

export interface InclusionProof {
  logIndex: number;
  treeSize: number;
  rootHash: Buffer;
  hashes: Buffer[];
  checkpoint: string;
}

export interface LogIdentity {
  /** First line of every checkpoint: `<host> - <treeID>` for Rekor v1, `<host>` for v2. */
  origin: string;
  /** Name on the checkpoint signature line; verifiers look for it in the log's base URL. */
  signerName: string;
  keyPair: { publicKey: crypto.KeyObject; privateKey: crypto.KeyObject };
}

export class TransparencyLog {
  readonly publicKeyDer: Buffer;
  readonly keyPem: string;
  /** SHA-256 of the DER public key: Rekor's log ID and the trusted root's keyId. */
  readonly logId: Buffer;
  /** When the log started: the start of its key's validity in the trusted root. */
  readonly startedAt: Date;
  private readonly tree = new MerkleTree();
  private readonly entries: StoredEntry[] = [];
  private readonly byLeaf = new Map<string, StoredEntry>();
  private readonly checkpoints = new Map<number, string>();

  constructor(private readonly identity: LogIdentity) {
    this.publicKeyDer = identity.keyPair.publicKey.export({ format: 'der', type: 'spki' });
    this.keyPem = identity.keyPair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    this.logId = crypto.createHash('sha256').update(this.publicKeyDer).digest();
    // Whole seconds: integratedTime is whole seconds and must not precede it.
    this.startedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Appends a canonical body, or returns the entry that already holds the same body. */
  append(body: Buffer): { entry: StoredEntry; existing: boolean } {
    const leafHash = hashLeaf(body);
    const known = this.byLeaf.get(leafHash.toString('hex'));
    if (known) return { entry: known, existing: true };
    const entry: StoredEntry = {
      index: this.tree.append(leafHash),
      body,
      leafHash,
      integratedTime: Math.floor(Date.now() / 1000),
    };
    this.entries.push(entry);
    this.byLeaf.set(leafHash.toString('hex'), entry);
    return { entry, existing: false };
  }

  byIndex(index: number): StoredEntry | undefined {
    return Number.isInteger(index) ? this.entries[index] : undefined;
  }

  byLeafHash(hex: string): StoredEntry | undefined {
    return this.byLeaf.get(hex.toLowerCase());
  }

  rootHash(size = this.size): Buffer {
    return this.tree.rootHash(size);
  }

  /** Inclusion proof of an entry against the tree as it is now (or at `size`). */
  inclusionProof(index: number, size = this.size): InclusionProof {
    return {
      logIndex: index,
      treeSize: size,
      rootHash: this.tree.rootHash(size),
      hashes: this.tree.inclusionProof(index, size),
      checkpoint: this.checkpoint(size),
    };
  }

  /**
   * The signed checkpoint for a tree size:
   * `<origin>\n<size>\n<b64 root>\n\n— <name> <b64(keyhint(4) || signature)>\n`,
   * the signature (ECDSA/SHA-256) over everything before the blank line.
   */
  checkpoint(size = this.size): string {
    const cached = this.checkpoints.get(size);
    if (cached) return cached;
    const note = `${this.identity.origin}\n${size}\n${this.tree.rootHash(size).toString('base64')}\n`;
    const signature = this.sign(Buffer.from(note, 'utf8'));
    const hintAndSig = Buffer.concat([this.logId.subarray(0, 4), signature]);
    const envelope = `${note}\n\u2014 ${this.identity.signerName} ${hintAndSig.toString('base64')}\n`;
    this.checkpoints.set(size, envelope);
    return envelope;
  }

  /** ECDSA P-256 / SHA-256, DER: checkpoints and signed entry timestamps. */
  sign(data: Buffer): Buffer {
    return crypto.sign('sha256', data, this.identity.keyPair.privateKey);
  }
}
