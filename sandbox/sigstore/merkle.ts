/**
 * An append-only RFC 6962 Merkle tree (the hashing of Rekor and Certificate
 * Transparency): roots and inclusion proofs for any past size, so the
 * sandbox logs give proofs that real verifiers check.
 */
import crypto from 'node:crypto';

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RFC 6962 §2.1: leaf hash = SHA-256(0x00 || data). */
export const hashLeaf = (data: Buffer): Buffer => sha256(Buffer.from([0x00]), data);
/** RFC 6962 §2.1: interior node = SHA-256(0x01 || left || right). */
export const hashChildren = (left: Buffer, right: Buffer): Buffer => sha256(Buffer.from([0x01]), left, right);

/** Largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export class MerkleTree {
  private readonly leaves: Buffer[] = [];
  /** Hashes of complete (power-of-two) subtrees: they never change once full. */
  private readonly complete = new Map<string, Buffer>();

  get size(): number {
    return this.leaves.length;
  }

  /** Appends a leaf hash; returns its index. */
  append(leafHash: Buffer): number {
    this.leaves.push(leafHash);
    return this.leaves.length - 1;
  }

  /** MTH of the first `size` leaves. */
  rootHash(size = this.size): Buffer {
    this.checkSize(size);
    return size === 0 ? sha256() : this.subtree(0, size);
  }

  /** Audit path of leaf `index` in the tree of `size` leaves, lowest level first (RFC 6962 §2.1.1). */
  inclusionProof(index: number, size = this.size): Buffer[] {
    this.checkSize(size);
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`index ${index} is outside a tree of ${size}`);
    return this.path(index, 0, size);
  }

  private checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.leaves.length) {
      throw new RangeError(`tree size ${size} is outside 0..${this.leaves.length}`);
    }
  }

  private subtree(start: number, size: number): Buffer {
    if (size === 1) return this.leaves[start];
    const isComplete = (size & (size - 1)) === 0;
    const key = `${start}/${size}`;
    if (isComplete) {
      const cached = this.complete.get(key);
      if (cached) return cached;
    }
    const k = splitPoint(size);
    const hash = hashChildren(this.subtree(start, k), this.subtree(start + k, size - k));
    if (isComplete) this.complete.set(key, hash);
    return hash;
  }

  private path(m: number, start: number, size: number): Buffer[] {
    if (size <= 1) return [];
    const k = splitPoint(size);
    return m < k
      ? [...this.path(m, start, k), this.subtree(start + k, size - k)]
      : [...this.path(m - k, start + k, size - k), this.subtree(start, k)];
  }
}
