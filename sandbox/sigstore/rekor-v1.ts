/**
 * The sandbox Rekor v1 API over a real append-only log: entries get sequential
 * indexes from 0, inclusion proofs against the current tree with a signed
 * checkpoint, and a signed entry timestamp (SET) — the shapes of
 * rekor.sigstore.dev, so clients and verifiers run unchanged.
 */
import crypto from 'node:crypto';
import { json as canonicalJson } from '@sigstore/core';
import { canonicalizeV1, EntryError } from './rekor-v1-entries.js';
import { json, parseJson, serve, type IncomingRequest, type Reply, type RunningServer } from './serve.js';
import { TransparencyLog, type StoredEntry } from './tlog.js';

export interface RekorV1 {
  url: string;
  log: TransparencyLog;
  stop(): Promise<void>;
}

const ENTRY_PATH = /^\/api\/v1\/log\/entries\/([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/;

const error = (code: number, message: string, headers?: Record<string, string>): Reply => json(code, { code, message }, headers);

export async function startRekorV1(keyPair: { publicKey: crypto.KeyObject; privateKey: crypto.KeyObject }): Promise<RekorV1> {
  // Real Rekor names shards by a 63-bit tree ID; entry UUIDs are its 16 hex digits + the leaf hash.
  const treeId = BigInt(`0x${crypto.randomBytes(8).toString('hex')}`) & 0x7fffffffffffffffn;
  const treeIdHex = treeId.toString(16).padStart(16, '0');
  const uuidOf = (e: StoredEntry): string => `${treeIdHex}${e.leafHash.toString('hex')}`;
  const sets = new Map<number, string>();

  /** SET: the log's signature over the canonical JSON of {body, integratedTime, logID, logIndex}. */
  const setOf = (l: TransparencyLog, e: StoredEntry): string => {
    let set = sets.get(e.index);
    if (!set) {
      const payload = { body: e.body.toString('base64'), integratedTime: e.integratedTime, logID: l.logId.toString('hex'), logIndex: e.index };
      set = l.sign(Buffer.from(canonicalJson.canonicalize(payload), 'utf8')).toString('base64');
      sets.set(e.index, set);
    }
    return set;
  };

  const entryMap = (l: TransparencyLog, e: StoredEntry): Record<string, object> => {
    const proof = l.inclusionProof(e.index);
    return {
      [uuidOf(e)]: {
        body: e.body.toString('base64'),
        integratedTime: e.integratedTime,
        logID: l.logId.toString('hex'),
        logIndex: e.index,
        verification: {
          inclusionProof: {
            checkpoint: proof.checkpoint,
            hashes: proof.hashes.map((h) => h.toString('hex')),
            logIndex: proof.logIndex,
            rootHash: proof.rootHash.toString('hex'),
            treeSize: proof.treeSize,
          },
          signedEntryTimestamp: setOf(l, e),
        },
      },
    };
  };

  const findByUuid = (l: TransparencyLog, uuid: string): StoredEntry | undefined => {
    const id = uuid.toLowerCase();
    if (id.length === 80 && !id.startsWith(treeIdHex)) return undefined;
    return l.byLeafHash(id.slice(-64));
  };

  const create = (l: TransparencyLog, req: IncomingRequest): Reply => {
    const proposed = parseJson(req.body);
    if (proposed === undefined) return error(400, 'the request body is not JSON');
    let body: Buffer;
    try {
      body = canonicalizeV1(proposed);
    } catch (err) {
      if (err instanceof EntryError) return error(400, err.message);
      throw err;
    }
    const { entry, existing } = l.append(body);
    const location = `/api/v1/log/entries/${uuidOf(entry)}`;
    if (existing) {
      return error(409, `an equivalent entry already exists in the transparency log with UUID ${uuidOf(entry)}`, { Location: location });
    }
    return json(201, entryMap(l, entry), { Location: location, ETag: uuidOf(entry) });
  };

  const retrieve = (l: TransparencyLog, req: IncomingRequest): Reply => {
    const query = parseJson(req.body) as { entryUUIDs?: unknown; logIndexes?: unknown } | undefined;
    if (!query || typeof query !== 'object') return error(400, 'the request body is not JSON');
    const uuids = Array.isArray(query.entryUUIDs) ? query.entryUUIDs : [];
    const indexes = Array.isArray(query.logIndexes) ? query.logIndexes : [];
    const found = [
      ...uuids.map((u) => (typeof u === 'string' ? findByUuid(l, u) : undefined)),
      ...indexes.map((i) => l.byIndex(Number(i))),
    ].filter((e): e is StoredEntry => e !== undefined);
    return json(200, found.map((e) => entryMap(l, e)));
  };

  const routeFor = (l: TransparencyLog) => (req: IncomingRequest): Reply => {
    const path = req.url.pathname.replace(/\/+$/, '');
    if (path === '/api/v1/log/entries' && req.method === 'POST') return create(l, req);
    if (path === '/api/v1/log/entries' && req.method === 'GET') {
      const raw = req.url.searchParams.get('logIndex');
      if (raw === null || !/^\d+$/.test(raw)) return error(400, 'logIndex must be a non-negative integer');
      const entry = l.byIndex(Number(raw));
      return entry ? json(200, entryMap(l, entry)) : error(404, `no entry at logIndex ${raw} (the log holds ${l.size})`);
    }
    if (path === '/api/v1/log/entries/retrieve' && req.method === 'POST') return retrieve(l, req);
    const byUuid = ENTRY_PATH.exec(path);
    if (byUuid && req.method === 'GET') {
      const entry = findByUuid(l, byUuid[1]);
      return entry ? json(200, entryMap(l, entry)) : error(404, `no entry with UUID ${byUuid[1]}`);
    }
    if (path === '/api/v1/log' && req.method === 'GET') {
      return json(200, {
        rootHash: l.rootHash().toString('hex'),
        signedTreeHead: l.checkpoint(),
        treeID: treeId.toString(),
        treeSize: l.size,
        inactiveShards: [],
      });
    }
    if (path === '/api/v1/log/publicKey' && req.method === 'GET') {
      return { status: 200, body: l.keyPem, contentType: 'application/x-pem-file' };
    }
    return error(404, `no such endpoint: ${req.method} ${req.url.pathname}`);
  };

  let log: TransparencyLog | undefined;
  const server: RunningServer = await serve('Rekor v1', ({ host }) => {
    log = new TransparencyLog({ origin: `${host} - ${treeId}`, signerName: host, keyPair });
    return routeFor(log);
  });
  return { url: server.url, log: log as TransparencyLog, stop: () => server.stop() };
}
