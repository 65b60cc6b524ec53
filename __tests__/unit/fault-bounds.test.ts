/**
 * Bounds on what a hostile or overgrown registry can make us read: a `.sig`
 * with more layers than cosign reads is verified up to MAX_SIGNATURE_LAYERS
 * only (one bounded payload read each), and appending to a full one is refused
 * before anything is written.
 */
import type { IdentityPolicy } from '../../src/config-types.js';
import { SIMPLE_SIGNING_MEDIA_TYPE } from '../../src/formats/legacy.js';
import { appendLayers, COSIGN_MAX_SIGNATURE_LAYERS } from '../../src/registry/append.js';
import type { RegistryClient } from '../../src/registry/client.js';
import { MAX_SIGNATURE_LAYERS, verifyLegacySignatures, type SignatureReader } from '../../src/verify/legacy.js';
import type { Trust } from '../../src/verify/trust.js';

const repo = { registry: 'registry.example', repository: 'acme/app' };
const digest = `sha256:${'a'.repeat(64)}`;
const policy: IdentityPolicy = { exact: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };

function sigManifest(layers: number): { body: Buffer; json: Record<string, unknown> } {
  const json = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 },
    layers: Array.from({ length: layers }, (_, i) => ({
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      size: 10,
      annotations: { 'dev.cosignproject.cosign/signature': `sig-${i}` },
    })),
  };
  return { body: Buffer.from(JSON.stringify(json)), json };
}

describe('a .sig with more layers than cosign reads', () => {
  it(`verifies the first ${MAX_SIGNATURE_LAYERS} layers only, reading each payload with a size limit`, async () => {
    const limits: (number | undefined)[] = [];
    const reader: SignatureReader = {
      getManifest: async () => sigManifest(1500),
      getBlob: async (_repo, _digest, maxBytes) => {
        limits.push(maxBytes);
        return Buffer.from('{}');
      },
    };
    const verdicts = await verifyLegacySignatures(reader, repo, digest, {} as Trust, policy);
    expect(MAX_SIGNATURE_LAYERS).toBe(1000);
    expect(verdicts).toHaveLength(MAX_SIGNATURE_LAYERS);
    expect(limits).toHaveLength(MAX_SIGNATURE_LAYERS);
    for (const limit of limits) expect(limit).toBeLessThanOrEqual(1024 * 1024);
    expect(verdicts.every((v) => !v.ok)).toBe(true);
  });

  it('refuses to append to a full .sig before writing anything', async () => {
    const writes: string[] = [];
    const full = sigManifest(COSIGN_MAX_SIGNATURE_LAYERS);
    const client = {
      getManifest: async () => ({ ...full, descriptor: { mediaType: full.json.mediaType, digest: `sha256:${'d'.repeat(64)}`, size: full.body.length } }),
      headManifest: async () => ({ mediaType: full.json.mediaType, digest: `sha256:${'d'.repeat(64)}`, size: full.body.length }),
      pushBlob: async (_r: unknown, bytes: Buffer, mediaType: string) => {
        writes.push(`blob ${bytes.length}`);
        return { mediaType, digest: `sha256:${'e'.repeat(64)}`, size: bytes.length };
      },
      putManifest: async () => {
        writes.push('manifest');
        throw new Error('must not be written');
      },
    } as unknown as RegistryClient;
    const layer = { descriptor: { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: `sha256:${'f'.repeat(64)}`, size: 3, annotations: { 'dev.cosignproject.cosign/signature': 'ours' } }, blob: Buffer.from('abc') };
    await expect(appendLayers(client, repo, 'sha256-aaa.sig', [layer], () => Buffer.from('{}'))).rejects.toThrow(
      /already holds 1000 signatures; one more would pass 1000, the most cosign reads .*nothing was added/,
    );
    // Only our own payload blob went up (signLegacy pushed it already); no manifest was written.
    expect(writes).toEqual(['blob 3']);
    // A full .att tag is named for what it holds, with the matching clean-up command.
    await expect(appendLayers(client, repo, 'sha256-aaa.att', [layer], () => Buffer.from('{}'), { noun: 'attestation', blobsPresent: true })).rejects.toThrow(
      /already holds 1000 attestations; .*cosign clean --type attestation/,
    );
  });
});
