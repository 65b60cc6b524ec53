/**
 * The sandbox Sigstore instance over real HTTP (no nock): Fulcio certificates
 * for sandbox GitHub tokens, Rekor v1/v2 entries with SETs and inclusion
 * proofs checked by hand, the TSA, and bundles built by @sigstore/sign and
 * verified by @sigstore/verify against the sandbox trusted root.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleFromJSON, bundleToJSON, envelopeToJSON, type Bundle } from '@sigstore/bundle';
import { ASN1Obj, json as canonicalJson, RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness, type Witness } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { startOidc, type GitHubClaims, type SandboxOidc } from '../../sandbox/oidc.js';
import { startSigstore, type SandboxSigstore } from '../../sandbox/sigstore/index.js';
import { decodeJwt, signJwt } from '../../sandbox/sigstore/jwt.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ISSUER = 'https://token.actions.githubusercontent.com';
const sha256 = (d: Buffer | string) => crypto.createHash('sha256').update(d).digest();
const node = (l: Buffer, r: Buffer) => sha256(Buffer.concat([Buffer.from([1]), l, r]));

let dir: string;
let oidc: SandboxOidc;
let s: SandboxSigstore;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sigstore-test-'));
  oidc = await startOidc();
  s = await startSigstore({ oidc, dir });
});
afterAll(async () => {
  await s?.stop();
  await oidc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function token(claims?: Partial<GitHubClaims>): Promise<string> {
  const req = claims ? oidc.issue(claims) : oidc.defaultRequest;
  const res = await fetch(`${req.requestUrl}&audience=sigstore`, { headers: { Authorization: `bearer ${req.requestToken}` } });
  return ((await res.json()) as { value: string }).value;
}

async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; json: Json }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
}

const getJson = async (url: string) => (await (await fetch(url)).json()) as Json;

/** A fresh P-256 key certified by the sandbox Fulcio; `proof` overrides the proof of possession. */
async function certify(jwt: string, proof?: (key: crypto.KeyObject, sub: string) => Buffer) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sub = String(decodeJwt(jwt).claims.sub);
  const pop = proof ? proof(privateKey, sub) : crypto.sign('sha256', Buffer.from(sub), privateKey);
  const res = await post(`${s.fulcioUrl}/api/v2/signingCert`, {
    credentials: { oidcIdentityToken: jwt },
    publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: publicKey.export({ format: 'pem', type: 'spki' }) }, proofOfPossession: pop.toString('base64') },
  });
  return { ...res, privateKey, publicKey, chain: (res.json.signedCertificateEmbeddedSct?.chain?.certificates ?? []) as string[] };
}

/** RFC 9162 §2.1.3.2, written independently of sandbox/sigstore/merkle.ts. */
function rootFromProof(leaf: Buffer, index: number, size: number, proof: Buffer[]): Buffer | undefined {
  let fn = index;
  let sn = size - 1;
  let r = sha256(Buffer.concat([Buffer.from([0]), leaf]));
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
    } else r = node(r, p);
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 ? r : undefined;
}

/** Checks a checkpoint's signature with the trusted root key of `logId`; returns its size and root. */
function checkCheckpoint(envelope: string, logId: Buffer, expectedOrigin: string) {
  const [note, sigLines] = [envelope.slice(0, envelope.indexOf('\n\n') + 1), envelope.slice(envelope.indexOf('\n\n') + 2)];
  const [origin, size, root] = note.trimEnd().split('\n');
  const match = /^\u2014 (\S+) (\S+)\n$/.exec(sigLines);
  expect(origin).toBe(expectedOrigin);
  const hintAndSig = Buffer.from(match?.[2] ?? '', 'base64');
  expect(hintAndSig.subarray(0, 4)).toEqual(logId.subarray(0, 4));
  expect(crypto.verify('sha256', Buffer.from(note), tlogKey(logId), hintAndSig.subarray(4))).toBe(true);
  return { size: Number(size), root: Buffer.from(root, 'base64') };
}

function tlogKey(logId: Buffer): crypto.KeyObject {
  const tlog = (s.trustedRoot as Json).tlogs.find((t: Json) => Buffer.from(t.logId.keyId, 'base64').equals(logId));
  return crypto.createPublicKey({ key: Buffer.from(tlog.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' });
}

/** `artifact`: the signed data, which message-signature bundles do not carry. */
function verifyBundle(bundle: Bundle, san: string, artifact?: Buffer) {
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(s.trustedRoot)));
  const entity = toSignedEntity(bundleFromJSON(bundleToJSON(bundle)), artifact);
  return verifier.verify(entity, { subjectAlternativeName: san, extensions: { issuer: ISSUER } });
}

function fulcioSigner() {
  return new FulcioSigner({ fulcioBaseURL: s.fulcioUrl, identityProvider: { getToken: () => token() } });
}
const DEFAULT_SAN = 'https://github.com/kupecloud/demo-app/.github/workflows/release.yml@refs/heads/main';

describe('trusted root', () => {
  it('is written to trustedRootPath and loads as trust material', () => {
    expect(JSON.parse(readFileSync(s.trustedRootPath, 'utf8'))).toEqual(s.trustedRoot);
    const root = s.trustedRoot as Json;
    expect(root.mediaType).toBe('application/vnd.dev.sigstore.trustedroot+json;version=0.1');
    expect(root.tlogs.map((t: Json) => t.baseUrl)).toEqual([s.rekorUrl, s.rekorV2Url]);
    const trust = toTrustMaterial(TrustedRoot.fromJSON(root));
    expect([trust.tlogs.length, trust.certificateAuthorities.length, trust.ctlogs.length, trust.timestampAuthorities.length]).toEqual([2, 1, 1, 1]);
  });
});

describe('Fulcio', () => {
  const claims: Partial<GitHubClaims> = {
    repository: 'acme/app', repository_id: '111', repository_owner_id: '222', repository_visibility: 'private',
    ref: 'refs/tags/v1.2.3', sha: 'a'.repeat(40), event_name: 'release', runner_environment: 'self-hosted',
    run_id: '333', run_attempt: '2', workflow_sha: 'b'.repeat(40),
    job_workflow_ref: 'acme/reusable/.github/workflows/sign.yml@refs/heads/main', job_workflow_sha: 'c'.repeat(40),
  };

  it('certifies a sandbox token with the GitHub identity, issuer and extensions, chained to the trusted root', async () => {
    const res = await certify(await token(claims));
    // As real Fulcio's v2 API (gRPC gateway): 200, which sigstore-go (cosign 3) requires.
    expect(res.status).toBe(200);
    expect(res.chain).toHaveLength(2);
    for (const pem of res.chain) expect(pem.split('\n').every((line) => line.length <= 64)).toBe(true);
    const leaf = X509Certificate.parse(res.chain[0]);
    const root = X509Certificate.parse(res.chain[1]);
    expect(leaf.subjectAltName).toBe('https://github.com/acme/reusable/.github/workflows/sign.yml@refs/heads/main');
    expect(leaf.publicKey).toEqual(res.publicKey.export({ format: 'der', type: 'spki' }));
    const caCert = Buffer.from((s.trustedRoot as Json).certificateAuthorities[0].certChain.certificates[0].rawBytes, 'base64');
    expect(root.root.toDER()).toEqual(caCert);
    expect(leaf.verify(root)).toBe(true);
    const ext = (n: number) => leaf.extension(`1.3.6.1.4.1.57264.1.${n}`)?.value;
    const utf8 = (n: number) => {
      const obj = ASN1Obj.parseBuffer(ext(n) as Buffer<ArrayBuffer>);
      expect(obj.tag.number).toBe(12); // UTF8String
      return obj.value.toString('utf8');
    };
    expect(ext(1)?.toString('utf8')).toBe(ISSUER);
    expect(utf8(8)).toBe(ISSUER);
    const gh = 'https://github.com';
    expect(Object.fromEntries([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22].map((n) => [n, utf8(n)]))).toEqual({
      9: `${gh}/acme/reusable/.github/workflows/sign.yml@refs/heads/main`, 10: 'c'.repeat(40), 11: 'self-hosted',
      12: `${gh}/acme/app`, 13: 'a'.repeat(40), 14: 'refs/tags/v1.2.3', 15: '111', 16: `${gh}/acme`, 17: '222',
      18: `${gh}/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3`, 19: 'b'.repeat(40), 20: 'release',
      21: `${gh}/acme/app/actions/runs/333/attempts/2`, 22: 'private',
    });
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(10 * 60 * 1000);
  });

  it('rejects a proof of possession that does not verify', async () => {
    const jwt = await token();
    const otherKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const wrongKey = await certify(jwt, (_k, sub) => crypto.sign('sha256', Buffer.from(sub), otherKey));
    expect(wrongKey.status).toBe(400);
    expect(wrongKey.json.message).toMatch(/proof of possession/);
    const wrongSubject = await certify(jwt, (k) => crypto.sign('sha256', Buffer.from('repo:evil/app:ref:refs/heads/main'), k));
    expect(wrongSubject.status).toBe(400);
  });

  it('rejects tokens signed by another key, for another audience, or expired (401)', async () => {
    const claims0 = decodeJwt(await token()).claims;
    const now = Math.floor(Date.now() / 1000);
    const foreign = signJwt(claims0, crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'other');
    const wrongAudience = oidc.signToken({ ...claims0, aud: 'not-sigstore' });
    const expired = oidc.signToken({ ...claims0, iat: now - 600, nbf: now - 600, exp: now - 300 });
    for (const [jwt, reason] of [[foreign, /signature/], [wrongAudience, /audience/], [expired, /expired/]] as const) {
      const res = await certify(jwt);
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ code: 16, message: expect.stringMatching(reason) });
    }
    expect((await certify(oidc.signToken({ ...claims0 }))).status).toBe(200);
  });

  it("answers Fulcio's legacy v1 API as cosign 2 calls it: bearer token, base64 PEM key, 201 with the PEM chain", async () => {
    const jwt = await token();
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const proof = crypto.sign('sha256', Buffer.from(String(decodeJwt(jwt).claims.sub)), privateKey);
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const res = await fetch(`${s.fulcioUrl}/api/v1/signingCert`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${jwt}` },
      body: JSON.stringify({ publicKey: { content: Buffer.from(pem).toString('base64') }, signedEmailAddress: proof.toString('base64') }),
    });
    expect([res.status, res.headers.get('content-type')]).toEqual([201, 'application/pem-certificate-chain']);
    const chain = (await res.text()).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
    expect(chain).toHaveLength(2);
    expect(X509Certificate.parse(chain[0] as string).publicKey).toEqual(publicKey.export({ format: 'der', type: 'spki' }));
    // A proof by another key is refused, as on v2.
    const bad = await fetch(`${s.fulcioUrl}/api/v1/signingCert`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${jwt}` },
      body: JSON.stringify({ publicKey: { content: Buffer.from(pem).toString('base64') }, signedEmailAddress: crypto.sign('sha256', Buffer.from('x'), privateKey).toString('base64') }),
    });
    expect(bad.status).toBe(400);
  });

  const hasOpenssl = existsSync('/usr/bin/openssl');
  (hasOpenssl ? it : it.skip)('accepts a PKCS#10 certificate signing request (openssl)', async () => {
    const keyPath = path.join(dir, 'csr-key.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
    const csr = execFileSync('openssl', ['req', '-new', '-key', keyPath, '-subj', '/CN=sandbox']).toString();
    const res = await post(`${s.fulcioUrl}/api/v2/signingCert`, { credentials: { oidcIdentityToken: await token() }, certificateSigningRequest: Buffer.from(csr).toString('base64') });
    expect(res.status).toBe(200);
    const leaf = X509Certificate.parse(res.json.signedCertificateEmbeddedSct.chain.certificates[0]);
    expect(leaf.publicKey).toEqual(crypto.createPublicKey(readFileSync(keyPath)).export({ format: 'der', type: 'spki' }));
  });

  it('serves the trust bundle and root certificate', async () => {
    const bundle = await getJson(`${s.fulcioUrl}/api/v2/trustBundle`);
    const rootPem = await (await fetch(`${s.fulcioUrl}/api/v1/rootCert`)).text();
    expect(bundle.chains[0].certificates).toEqual([rootPem]);
  });
});

describe('Rekor v1', () => {
  async function hashedRekord(payload: Buffer, tamper = false) {
    const cert = await certify(await token());
    const signature = crypto.sign('sha256', tamper ? Buffer.concat([payload, Buffer.from('x')]) : payload, cert.privateKey);
    // One-line PEM on purpose: Rekor must store its canonical (64-column) re-encoding.
    const oneLine = cert.chain[0].replace(/\n(?!-----END)(?=[A-Za-z0-9+/=])/g, '');
    const proposed = {
      apiVersion: '0.0.1', kind: 'hashedrekord',
      spec: { data: { hash: { algorithm: 'sha256', value: sha256(payload).toString('hex') } }, signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(oneLine).toString('base64') } } },
    };
    return { proposed, certPem: cert.chain[0], res: await post(`${s.rekorUrl}/api/v1/log/entries`, proposed) };
  }
  const only = (map: Json) => {
    expect(Object.keys(map)).toHaveLength(1);
    const [uuid, entry] = Object.entries(map)[0];
    return { uuid, entry: entry as Json };
  };

  it('logs a hashedrekord canonically with a SET that verifies with the trusted root key', async () => {
    const { proposed, certPem, res } = await hashedRekord(crypto.randomBytes(64));
    expect(res.status).toBe(201);
    const { uuid, entry } = only(res.json);
    expect(uuid).toMatch(/^[0-9a-f]{80}$/);
    expect(res.headers.get('location')).toBe(`/api/v1/log/entries/${uuid}`);
    const body = Buffer.from(entry.body, 'base64');
    expect(uuid.slice(16)).toBe(sha256(Buffer.concat([Buffer.from([0]), body])).toString('hex'));
    const expected = { ...proposed, spec: { ...proposed.spec, signature: { ...proposed.spec.signature, publicKey: { content: Buffer.from(certPem).toString('base64') } } } };
    expect(body.toString()).toBe(canonicalJson.canonicalize(expected));
    const payload = { body: entry.body, integratedTime: entry.integratedTime, logID: entry.logID, logIndex: entry.logIndex };
    const key = tlogKey(Buffer.from(entry.logID, 'hex'));
    const set = Buffer.from(entry.verification.signedEntryTimestamp, 'base64');
    expect(crypto.verify('sha256', Buffer.from(canonicalJson.canonicalize(payload)), key, set)).toBe(true);
    expect(crypto.verify('sha256', Buffer.from(canonicalJson.canonicalize({ ...payload, logIndex: entry.logIndex + 1 })), key, set)).toBe(false);
  });

  it('gives inclusion proofs that verify for every entry, at every size', async () => {
    const created: Json[] = [];
    for (let i = 0; i < 7; i++) created.push(only((await hashedRekord(crypto.randomBytes(32))).res.json).entry);
    const indexes = created.map((e) => e.logIndex);
    expect(indexes).toEqual(indexes.map((_, i) => indexes[0] + i));
    const tree = await getJson(`${s.rekorUrl}/api/v1/log`);
    const origin = `${new URL(s.rekorUrl).host} - ${tree.treeID}`;
    for (const e of [...created, ...(await Promise.all(created.map((c) => getJson(`${s.rekorUrl}/api/v1/log/entries?logIndex=${c.logIndex}`)))).map((m) => only(m).entry)]) {
      const p = e.verification.inclusionProof;
      const root = rootFromProof(Buffer.from(e.body, 'base64'), p.logIndex, p.treeSize, p.hashes.map((h: string) => Buffer.from(h, 'hex')));
      expect(root?.toString('hex')).toBe(p.rootHash);
      expect(checkCheckpoint(p.checkpoint, Buffer.from(e.logID, 'hex'), origin)).toEqual({ size: p.treeSize, root });
    }
    expect(tree.treeSize).toBe(indexes[6] + 1);
  });

  it('answers 409 with the Location of the existing entry for a duplicate', async () => {
    const first = await hashedRekord(crypto.randomBytes(32));
    const again = await post(`${s.rekorUrl}/api/v1/log/entries`, first.proposed);
    expect(again.status).toBe(409);
    expect(again.headers.get('location')).toBe(first.res.headers.get('location'));
    const fetched = await getJson(new URL(again.headers.get('location') as string, s.rekorUrl).toString());
    expect(only(fetched).entry.body).toBe(only(first.res.json).entry.body);
  });

  it('finds entries by index, by UUID (with or without tree ID), and in bulk', async () => {
    const { uuid, entry } = only((await hashedRekord(crypto.randomBytes(32))).res.json);
    expect(only(await getJson(`${s.rekorUrl}/api/v1/log/entries?logIndex=${entry.logIndex}`)).uuid).toBe(uuid);
    expect(only(await getJson(`${s.rekorUrl}/api/v1/log/entries/${uuid}`)).entry.body).toBe(entry.body);
    expect(only(await getJson(`${s.rekorUrl}/api/v1/log/entries/${uuid.slice(16)}`)).uuid).toBe(uuid);
    const bulk = await post(`${s.rekorUrl}/api/v1/log/entries/retrieve`, { entryUUIDs: [uuid], logIndexes: [entry.logIndex] });
    expect(bulk.json.map((m: Json) => Object.keys(m)[0])).toEqual([uuid, uuid]);
    expect((await fetch(`${s.rekorUrl}/api/v1/log/entries?logIndex=999999`)).status).toBe(404);
    expect((await fetch(`${s.rekorUrl}/api/v1/log/entries/${'0'.repeat(64)}`)).status).toBe(404);
    const pem = await (await fetch(`${s.rekorUrl}/api/v1/log/publicKey`)).text();
    expect(crypto.createPublicKey(pem).equals(tlogKey(Buffer.from(entry.logID, 'hex')))).toBe(true);
  });

  it('refuses a hashedrekord whose signature does not match the hash (400), logging nothing', async () => {
    const before = (await getJson(`${s.rekorUrl}/api/v1/log`)).treeSize;
    const { res } = await hashedRekord(crypto.randomBytes(32), true);
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/signature/);
    expect((await getJson(`${s.rekorUrl}/api/v1/log`)).treeSize).toBe(before);
  });

  it.each(['dsse', 'intoto'] as const)('logs a %s bundle from @sigstore/sign that @sigstore/verify accepts', async (entryType) => {
    const builder = new DSSEBundleBuilder({ signer: fulcioSigner(), witnesses: [new RekorWitness({ rekorBaseURL: s.rekorUrl, entryType })] });
    const bundle = await builder.create({ data: Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', entryType })), type: 'application/vnd.in-toto+json' });
    expect(verifyBundle(bundle, DEFAULT_SAN).identity?.subjectAlternativeName).toBe(DEFAULT_SAN);
    const tlog = bundle.verificationMaterial.tlogEntries[0];
    expect(tlog.inclusionPromise).toBeDefined();
    if (entryType === 'dsse' && bundle.content.$case === 'dsseEnvelope') {
      const body = JSON.parse(tlog.canonicalizedBody.toString()) as Json;
      const envelope = bundle.content.dsseEnvelope;
      expect(body.spec.envelopeHash.value).toBe(sha256(JSON.stringify(envelopeToJSON(envelope))).toString('hex'));
      expect(body.spec.payloadHash.value).toBe(sha256(envelope.payload).toString('hex'));
      expect(body.spec.signatures).toEqual([{ signature: envelope.signatures[0].sig.toString('base64'), verifier: expect.any(String) }]);
    }
    expect(() => verifyBundle(bundle, 'https://github.com/someone/else')).toThrow();
  });

  it('logs a message-signature (hashedrekord) bundle that @sigstore/verify accepts', async () => {
    const builder = new MessageSignatureBundleBuilder({ signer: fulcioSigner(), witnesses: [new RekorWitness({ rekorBaseURL: s.rekorUrl })] });
    const data = crypto.randomBytes(100);
    const bundle = await builder.create({ data });
    expect(verifyBundle(bundle, DEFAULT_SAN, data).identity?.subjectAlternativeName).toBe(DEFAULT_SAN);
    expect(() => verifyBundle(bundle, DEFAULT_SAN, crypto.randomBytes(100))).toThrow();
  });
});

describe('timestamp authority', () => {
  it('answers JSON requests with RFC 3161 tokens that verify, 20 times in a row', async () => {
    const signingCert = Buffer.from((s.trustedRoot as Json).timestampAuthorities[0].certChain.certificates[0].rawBytes, 'base64');
    const signing = new crypto.X509Certificate(signingCert).publicKey;
    for (let i = 0; i < 20; i++) {
      const data = crypto.randomBytes(64);
      const before = Math.floor(Date.now() / 1000) * 1000;
      const res = await fetch(s.tsaUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ artifactHash: sha256(data).toString('base64'), hashAlgorithm: 'sha256' }) });
      expect([res.status, res.headers.get('content-type')]).toEqual([201, 'application/timestamp-reply']);
      const ts = RFC3161Timestamp.parse(Buffer.from(await res.arrayBuffer()));
      expect(ts.status).toBe(0n);
      expect(() => ts.verify(data, signing)).not.toThrow();
      expect(() => ts.verify(crypto.randomBytes(64), signing)).toThrow();
      expect(ts.signingTime.getTime()).toBeGreaterThanOrEqual(before);
      expect(ts.signingTime.getTime()).toBeLessThanOrEqual(Date.now());
    }
  });

  (existsSync('/usr/bin/openssl') ? it : it.skip)('answers DER timestamp queries with the exact 64-bit nonce (openssl ts -verify)', async () => {
    const file = (name: string) => path.join(dir, name);
    writeFileSync(file('data'), crypto.randomBytes(40));
    execFileSync('openssl', ['ts', '-query', '-data', file('data'), '-sha256', '-cert', '-out', file('q.tsq')], { stdio: 'pipe' });
    const res = await fetch(s.tsaUrl, { method: 'POST', headers: { 'Content-Type': 'application/timestamp-query' }, body: readFileSync(file('q.tsq')) });
    expect(res.status).toBe(201);
    writeFileSync(file('r.tsr'), Buffer.from(await res.arrayBuffer()));
    const pems = (await (await fetch(`${s.tsaUrl}/certchain`)).text()).match(/-----BEGIN[\s\S]+?-----END CERTIFICATE-----\n/g) as string[];
    expect(pems).toHaveLength(2);
    writeFileSync(file('tsa.pem'), pems[0]);
    writeFileSync(file('root.pem'), pems[1]);
    const out = execFileSync('openssl', ['ts', '-verify', '-queryfile', file('q.tsq'), '-in', file('r.tsr'), '-CAfile', file('root.pem'), '-untrusted', file('tsa.pem')], { stdio: 'pipe' });
    expect(out.toString()).toMatch(/Verification: OK/);
  });
});

describe('Rekor v2', () => {
  const witnesses = (): Witness[] => [new RekorWitness({ rekorBaseURL: s.rekorV2Url, majorApiVersion: 2 }), new TSAWitness({ tsaBaseURL: s.tsaUrl })];

  it('refuses DSSE entries, as rekor-tiles does from 2.3.0', async () => {
    const dsse = new DSSEBundleBuilder({ signer: fulcioSigner(), witnesses: witnesses() });
    const refused = await dsse.create({ data: Buffer.from('{"n":0}'), type: 'application/vnd.in-toto+json' }).then(
      () => undefined,
      (err: Error & { cause?: Error }) => `${err.message} ${err.cause?.message ?? ''}`,
    );
    expect(refused).toMatch(/invalid type, must be hashedrekord/);
  });

  it('logs hashedrekord entries whose proofs and bundles verify', async () => {
    const signed: { bundle: Bundle; artifact?: Buffer }[] = [];
    for (let i = 0; i < 6; i++) {
      const artifact = crypto.randomBytes(50);
      const message = new MessageSignatureBundleBuilder({ signer: fulcioSigner(), witnesses: witnesses() });
      signed.push({ bundle: await message.create({ data: artifact }), artifact });
    }
    for (const { bundle, artifact } of signed) {
      expect(verifyBundle(bundle, DEFAULT_SAN, artifact).identity?.subjectAlternativeName).toBe(DEFAULT_SAN);
      const entry = bundle.verificationMaterial.tlogEntries[0];
      expect(entry.kindVersion?.version).toBe('0.0.2');
      expect(entry.inclusionPromise).toBeUndefined();
      const p = entry.inclusionProof as NonNullable<typeof entry.inclusionProof>;
      const root = rootFromProof(entry.canonicalizedBody, Number(p.logIndex), Number(p.treeSize), p.hashes);
      expect(root).toEqual(p.rootHash);
      expect(checkCheckpoint(p.checkpoint?.envelope as string, entry.logId?.keyId as Buffer, new URL(s.rekorV2Url).host).root).toEqual(root);
    }
    expect(signed.map(({ bundle }) => Number(bundle.verificationMaterial.tlogEntries[0].logIndex))).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('stop()', () => {
  it('closes every server and removes its own temporary directory', async () => {
    const other = await startSigstore({ oidc });
    const urls = [other.fulcioUrl, other.rekorUrl, other.rekorV2Url, other.tsaUrl];
    await fetch(`${other.rekorUrl}/api/v1/log`); // leaves a keep-alive connection open
    await other.stop();
    for (const url of urls) await expect(fetch(url)).rejects.toThrow();
    expect(existsSync(other.trustedRootPath)).toBe(false);
  });
});
