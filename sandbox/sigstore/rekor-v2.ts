/**
 * The sandbox Rekor v2 (rekor-tiles) write API: `POST /api/v2/log/entries`
 * with a protobuf-JSON CreateEntryRequest (hashedRekordRequestV002; like rekor-tiles
 * 2.3+, it refuses dsseRequestV002), answered with a TransparencyLogEntry whose inclusion proof
 * and signed checkpoint come from a real Merkle log. No SET, no integrated
 * time: as on Rekor v2, signing time comes from a timestamp authority.
 */
import crypto from 'node:crypto';
import { json as canonicalJson } from '@sigstore/core';
import { HashAlgorithm, TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { CreateEntryRequest, Entry, type Verifier } from '@sigstore/protobuf-specs/rekor/v2';
import { isP256, verifyPrehashed } from './ecdsa-prehashed.js';
import { json, parseJson, serve, type IncomingRequest, type Reply } from './serve.js';
import { TransparencyLog, type StoredEntry } from './tlog.js';
import { parseVerifierDer, type EntryVerifier } from './verifier-key.js';

export interface RekorV2 {
  url: string;
  log: TransparencyLog;
  stop(): Promise<void>;
}

class RequestError extends Error {}

const DIGEST_ALGORITHMS: Record<number, HashAlgorithm> = {
  32: HashAlgorithm.SHA2_256,
  48: HashAlgorithm.SHA2_384,
  64: HashAlgorithm.SHA2_512,
};

function keyOf(verifier: Verifier | undefined, what: string): EntryVerifier {
  const v = verifier?.verifier;
  try {
    if (v?.$case === 'x509Certificate') return parseVerifierDer(v.x509Certificate.rawBytes, 'certificate');
    if (v?.$case === 'publicKey') return parseVerifierDer(v.publicKey.rawBytes, 'publicKey');
  } catch (err) {
    throw new RequestError(`${what}: ${(err as Error).message}`);
  }
  throw new RequestError(`${what} has neither x509Certificate nor publicKey`);
}

/** CreateEntryRequest → the Entry real Rekor v2 logs, after checking its signatures. */
export function toLoggedEntry(request: CreateEntryRequest): Entry {
  const spec = request.spec;
  if (spec?.$case === 'hashedRekordRequestV002') {
    const { digest, signature } = spec.hashedRekordRequestV002;
    const algorithm = DIGEST_ALGORITHMS[digest.length];
    if (!algorithm) throw new RequestError(`digest of ${digest.length} bytes is not SHA2-256/384/512`);
    if (!signature?.content.length) throw new RequestError('hashedRekordRequestV002.signature.content is empty');
    const { key } = keyOf(signature.verifier, 'hashedRekordRequestV002.signature.verifier');
    // Only P-256 can be checked against a bare digest here; other keys are logged unchecked.
    if (isP256(key) && !verifyPrehashed(key, digest, signature.content)) throw new RequestError('invalid signature over the digest');
    return {
      kind: 'hashedrekord',
      apiVersion: '0.0.2',
      spec: { spec: { $case: 'hashedRekordV002', hashedRekordV002: { data: { algorithm, digest }, signature } } },
    };
  }
  // rekor-tiles 2.3.0 dropped DSSE entries ("Drop DSSE support"): a DSSE envelope is logged as a
  // hashedrekord over its pre-authentication encoding, as cosign 3.1 and sigstore-go 1.2 do.
  if (spec?.$case === 'dsseRequestV002') throw new RequestError('invalid type, must be hashedrekord');
  throw new RequestError('the request holds neither hashedRekordRequestV002 nor dsseRequestV002');
}

export async function startRekorV2(keyPair: { publicKey: crypto.KeyObject; privateKey: crypto.KeyObject }): Promise<RekorV2> {

  const entryJson = (l: TransparencyLog, e: StoredEntry, kind: string): unknown => {
    const proof = l.inclusionProof(e.index);
    return TransparencyLogEntry.toJSON({
      logIndex: String(e.index),
      logId: { keyId: l.logId },
      kindVersion: { kind, version: '0.0.2' },
      integratedTime: '0',
      inclusionPromise: undefined,
      inclusionProof: {
        logIndex: String(proof.logIndex),
        rootHash: proof.rootHash,
        treeSize: String(proof.treeSize),
        hashes: proof.hashes,
        checkpoint: { envelope: proof.checkpoint },
      },
      canonicalizedBody: e.body,
    });
  };

  const create = (l: TransparencyLog, req: IncomingRequest): Reply => {
    const parsed = parseJson(req.body);
    if (typeof parsed !== 'object' || parsed === null) return json(400, { code: 3, message: 'the request body is not JSON' });
    let entry: Entry;
    try {
      entry = toLoggedEntry(CreateEntryRequest.fromJSON(parsed));
    } catch (err) {
      return json(400, { code: 3, message: (err as Error).message });
    }
    const body = Buffer.from(canonicalJson.canonicalize(Entry.toJSON(entry)), 'utf8');
    // Rekor v2 deduplicates silently: the same body answers the existing entry.
    const { entry: stored, existing } = l.append(body);
    return json(existing ? 200 : 201, entryJson(l, stored, entry.kind) as object);
  };

  const routeFor = (l: TransparencyLog) => (req: IncomingRequest): Reply => {
    const path = req.url.pathname.replace(/\/+$/, '');
    if (path === '/api/v2/log/entries' && req.method === 'POST') return create(l, req);
    if (path === '/api/v2/checkpoint' && req.method === 'GET') return { status: 200, body: l.checkpoint(), contentType: 'text/plain; charset=utf-8' };
    if (path === '/api/v2/publicKey' && req.method === 'GET') return { status: 200, body: l.keyPem, contentType: 'application/x-pem-file' };
    return json(404, { code: 5, message: `no such endpoint: ${req.method} ${req.url.pathname}` });
  };

  let log: TransparencyLog | undefined;
  const server = await serve('Rekor v2', ({ host }) => {
    // rekor-tiles names its checkpoints after the log's host, without a tree ID.
    log = new TransparencyLog({ origin: host, signerName: host, keyPair });
    return routeFor(log);
  });
  return { url: server.url, log: log as TransparencyLog, stop: () => server.stop() };
}
