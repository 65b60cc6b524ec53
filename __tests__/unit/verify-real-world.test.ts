/**
 * Signatures made by cosign and sigstore-js on the public-good instance
 * (__tests__/fixtures/real-world, see PROVENANCE.md) verify with our code,
 * offline, against the public-good trusted root (the fixture copy, and the
 * newer one seeded in @sigstore/tuf), for their identity and issuer only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { SerializedBundle } from '@sigstore/bundle';
import type { IdentityPolicy } from '../../src/config-types.js';
import type { LayerDescriptor } from '../../src/formats/legacy.js';
import { verifyBundle } from '../../src/verify/check.js';
import { verifyLegacyLayer, verifyLegacySignatures, type RepoRef, type SignatureReader } from '../../src/verify/legacy.js';
import { trustFromJson, type Trust } from '../../src/verify/trust.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/real-world/${name}`, import.meta.url), 'utf8'));
const legacy = fixture('ratify-keyless-legacy.json') as {
  image: { dockerReference: string; digest: string };
  identity: string;
  issuer: string;
  payload: string;
  layer: LayerDescriptor & { annotations: Record<string, string> };
};
const cosignBundle = fixture('cosign-oci-attestation.sigstore.json') as SerializedBundle;
const actionsBundle = fixture('sigstore-js-provenance.sigstore.json') as SerializedBundle;
const ACTIONS_IDENTITY = 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';
const ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
const OAUTH = 'https://github.com/login/oauth';

function seededRoot(): unknown {
  const seeds = createRequire(import.meta.url)('@sigstore/tuf/seeds.json') as Record<string, { targets: Record<string, string> }>;
  return JSON.parse(Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'], 'base64').toString('utf8'));
}

const roots: [string, Trust][] = [
  ['the fixture public-good root', trustFromJson(fixture('public-good-trusted-root.json'), 'fixture')],
  ['the root seeded in @sigstore/tuf', trustFromJson(seededRoot(), 'seed')],
];
const payload = Buffer.from(legacy.payload);
const checkLayer = (trust: Trust, policy: IdentityPolicy, opts: { layer?: LayerDescriptor; payload?: Buffer; digest?: string } = {}) =>
  verifyLegacyLayer(opts.layer ?? legacy.layer, opts.payload ?? payload, opts.digest ?? legacy.image.digest, trust, policy, 'fixture', { requireChain: false });

describe.each(roots)('cosign-made legacy .sig (Ratify test data), against %s', (_name, trust) => {
  it('verifies for its identity and issuer', () => {
    expect(checkLayer(trust, { exact: legacy.identity, issuer: legacy.issuer })).toMatchObject({
      ok: true,
      identity: legacy.identity,
      issuer: legacy.issuer,
      logIndex: 13452680,
      integratedTime: 1676524985,
    });
  });

  it('is rejected for another identity, a look-alike, another issuer', () => {
    expect(checkLayer(trust, { exact: 'someone@example.com', issuer: legacy.issuer })).toMatchObject({ ok: false, failure: 'identity', reason: expect.stringContaining(legacy.identity) });
    expect(checkLayer(trust, { exact: `${legacy.identity}.evil`, issuer: legacy.issuer })).toMatchObject({ ok: false, failure: 'identity' });
    expect(checkLayer(trust, { regexp: 'sozercan@gmail', issuer: legacy.issuer })).toMatchObject({ ok: false, failure: 'identity' });
    expect(checkLayer(trust, { regexp: 'sozercan@gmail\\.com', issuer: legacy.issuer })).toMatchObject({ ok: true });
    expect(checkLayer(trust, { exact: legacy.identity, issuer: ACTIONS_ISSUER })).toMatchObject({ ok: false, failure: 'issuer', reason: expect.stringContaining(OAUTH) });
  });

  it('is rejected for another image, a changed payload, a broken log proof', () => {
    const other = `sha256:${'a'.repeat(64)}`;
    expect(checkLayer(trust, { exact: legacy.identity, issuer: legacy.issuer }, { digest: other })).toMatchObject({ ok: false, failure: 'digest-claim' });
    const changed = Buffer.from(legacy.payload.replace('"optional":null', '"optional":{}'));
    expect(checkLayer(trust, { exact: legacy.identity, issuer: legacy.issuer }, { payload: changed })).toMatchObject({ ok: false, failure: 'signature' });
    const bundle = JSON.parse(legacy.layer.annotations['dev.sigstore.cosign/bundle']);
    bundle.Payload.logIndex += 1;
    const layer = { ...legacy.layer, annotations: { ...legacy.layer.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(bundle) } };
    expect(checkLayer(trust, { exact: legacy.identity, issuer: legacy.issuer }, { layer })).toMatchObject({ ok: false, failure: 'log-proof' });
    const garbled = { ...legacy.layer, annotations: { ...legacy.layer.annotations, 'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' } };
    expect(checkLayer(trust, { exact: legacy.identity, issuer: legacy.issuer }, { layer: garbled })).toMatchObject({ ok: false, failure: 'malformed' });
  });
});

describe.each(roots)('bundles, against %s', (_name, trust) => {
  const base = { format: 'bundle' as const, reference: 'fixture' };

  it('a cosign-made v0.3 bundle verifies for its identity and issuer only', () => {
    expect(verifyBundle(cosignBundle, undefined, trust, { exact: 'cody@soyland.com', issuer: OAUTH }, base)).toMatchObject({ ok: true, logIndex: 175508996 });
    expect(verifyBundle(cosignBundle, undefined, trust, { exact: 'cody@soyland.co', issuer: OAUTH }, base)).toMatchObject({ ok: false, failure: 'identity' });
    expect(verifyBundle(cosignBundle, undefined, trust, { exact: 'cody@soyland.com', issuer: ACTIONS_ISSUER }, base)).toMatchObject({ ok: false, failure: 'issuer' });
  });

  it('a bundle signed in GitHub Actions verifies for that workflow only', () => {
    expect(verifyBundle(actionsBundle, undefined, trust, { exact: ACTIONS_IDENTITY, issuer: ACTIONS_ISSUER }, base)).toMatchObject({ ok: true, identity: ACTIONS_IDENTITY });
    for (const identity of [`${ACTIONS_IDENTITY}-evil`, ACTIONS_IDENTITY.replace('refs/heads/main', 'refs/heads/dev'), ACTIONS_IDENTITY.slice(0, -4)]) {
      expect(verifyBundle(actionsBundle, undefined, trust, { exact: identity, issuer: ACTIONS_ISSUER }, base)).toMatchObject({ ok: false, failure: 'identity' });
    }
  });

  it('a changed DSSE payload does not verify', () => {
    const tampered = structuredClone(actionsBundle) as SerializedBundle & { dsseEnvelope: { payload: string } };
    const statement = Buffer.from(tampered.dsseEnvelope.payload, 'base64').toString('utf8').replace('sigstore@1.3.0', 'sigstore@6.6.6');
    tampered.dsseEnvelope.payload = Buffer.from(statement).toString('base64');
    expect(verifyBundle(tampered, undefined, trust, { exact: ACTIONS_IDENTITY, issuer: ACTIONS_ISSUER }, base)).toMatchObject({ ok: false, failure: 'signature' });
  });
});

describe('the registry read path, on the real-world .sig', () => {
  const repo: RepoRef = { registry: 'registry.example', repository: 'test/cosign-image' };
  const tag = `${legacy.image.digest.replace(':', '-')}.sig`;
  const reader: SignatureReader = {
    getManifest: async (_repo, ref) => (ref === tag ? { body: Buffer.from(''), json: { layers: [legacy.layer] } } : undefined),
    getBlob: async (_repo, digest) => {
      if (digest !== legacy.layer.digest) throw new Error(`no blob ${digest}`);
      return payload;
    },
  };

  it('finds and verifies the layer; reports none for a digest without a .sig', async () => {
    const trust = roots[0][1];
    const verdicts = await verifyLegacySignatures(reader, repo, legacy.image.digest, trust, { exact: legacy.identity, issuer: legacy.issuer }, { requireChain: false });
    expect(verdicts).toEqual([expect.objectContaining({ ok: true, reference: `registry.example/test/cosign-image:${tag}` })]);
    expect(await verifyLegacySignatures(reader, repo, `sha256:${'b'.repeat(64)}`, trust, { exact: legacy.identity, issuer: legacy.issuer })).toEqual([]);
  });
});
