/**
 * A TUF repository on 127.0.0.1, laid out and signed as Sigstore's
 * (tuf-repo-cdn.sigstore.dev): `N.root.json`, `timestamp.json`,
 * `N.snapshot.json`, `N.targets.json` and `targets/<sha256>.<name>`
 * (consistent snapshots), each role with its own ed25519 key.
 *
 * Written here from the TUF specification rather than with the client library
 * the action uses (tuf-js): the action's client checks this repository as it
 * checks Sigstore's, so a mistake on either side shows. Metadata is signed over
 * its canonical JSON (keys sorted, no whitespace: what the spec's OLPC canonical
 * form gives for the strings, integers and booleans used here).
 */
import crypto from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { json, serve, type Reply } from './serve.js';

export interface SandboxTufRepository {
  /** The mirror URL (what @sigstore/tuf calls `mirrorURL`, cosign `TUF_MIRROR`). */
  url: string;
  /** The initial trusted root.json (version 1), to give the client. */
  rootPath: string;
  /** Target names published. */
  targets: string[];
  /** How many requests each path got (to show a client used the repository). */
  requests(): Record<string, number>;
  stop(): Promise<void>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Canonical JSON: keys sorted, no whitespace. Floats and control characters never occur in our metadata. */
export function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

interface RoleKey {
  keyId: string;
  publicJson: { keytype: string; scheme: string; keyval: { public: string } };
  privateKey: crypto.KeyObject;
}

function newRoleKey(): RoleKey {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  // The raw 32-byte key is the last 32 bytes of its SPKI DER; TUF writes it in hex.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const publicJson = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
  const keyId = crypto.createHash('sha256').update(canonicalJson(publicJson)).digest('hex');
  return { keyId, publicJson, privateKey };
}

function signed(body: { [key: string]: Json }, key: RoleKey): Buffer {
  const sig = crypto.sign(null, Buffer.from(canonicalJson(body)), key.privateKey).toString('hex');
  return Buffer.from(JSON.stringify({ signed: body, signatures: [{ keyid: key.keyId, sig }] }, null, 2));
}

const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;

/** Starts the repository with `targets` (name → content; objects are written as JSON). */
export async function startTufRepository(targets: Record<string, object | Buffer>): Promise<SandboxTufRepository> {
  const keys = Object.fromEntries(ROLES.map((role) => [role, newRoleKey()])) as Record<(typeof ROLES)[number], RoleKey>;
  // A year ahead: the client refuses expired metadata, and a sandbox never lives that long.
  const expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const common = (type: string) => ({ _type: type, spec_version: '1.0.31', version: 1, expires });

  const files = new Map<string, Buffer>();
  const targetMeta: { [name: string]: Json } = {};
  for (const [name, content] of Object.entries(targets)) {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(`${JSON.stringify(content, null, 2)}\n`);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    targetMeta[name] = { length: bytes.length, hashes: { sha256 } };
    files.set(`/targets/${sha256}.${name}`, bytes);
  }
  const root = signed(
    {
      ...common('root'),
      consistent_snapshot: true,
      keys: Object.fromEntries(ROLES.map((role) => [keys[role].keyId, keys[role].publicJson])),
      roles: Object.fromEntries(ROLES.map((role) => [role, { keyids: [keys[role].keyId], threshold: 1 }])),
    },
    keys.root,
  );
  const targetsFile = signed({ ...common('targets'), targets: targetMeta }, keys.targets);
  const snapshot = signed({ ...common('snapshot'), meta: { 'targets.json': { version: 1 } } }, keys.snapshot);
  const timestamp = signed({ ...common('timestamp'), meta: { 'snapshot.json': { version: 1 } } }, keys.timestamp);
  files.set('/1.root.json', root);
  files.set('/1.targets.json', targetsFile);
  files.set('/1.snapshot.json', snapshot);
  files.set('/timestamp.json', timestamp);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandbox-tuf-'));
  const rootPath = path.join(dir, 'root.json');
  await writeFile(rootPath, root);
  const counts: Record<string, number> = {};
  const server = await serve('TUF repository', () => (req): Reply => {
    counts[req.url.pathname] = (counts[req.url.pathname] ?? 0) + 1;
    const file = req.method === 'GET' ? files.get(req.url.pathname) : undefined;
    // 404 for the next root version tells the client it has the newest root.
    return file ? { status: 200, body: file, contentType: 'application/octet-stream' } : json(404, { message: 'not found' });
  });
  return {
    url: server.url,
    rootPath,
    targets: Object.keys(targets),
    requests: () => ({ ...counts }),
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
