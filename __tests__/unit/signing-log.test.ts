/**
 * Verify mode without `rekor-url`: the policies and commands name the log that recorded the
 * signatures found, not merely the trusted root's newest one (which may be a Rekor v2 shard
 * that never records a .sig signature).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config-types.js';
import { logOfPassing, logUrlById, withLogOfSignatures } from '../../src/report/signing-log.js';
import type { SignatureVerdict } from '../../src/verify/check.js';
import type { ImageVerdict } from '../../src/verify/verdict.js';

const V1 = 'aa'.repeat(32);
const V2 = 'bb'.repeat(32);
const keyId = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const root = JSON.stringify({
  tlogs: [
    { baseUrl: 'https://rekor.example/', logId: { keyId: keyId(V1) } },
    { baseUrl: 'https://log2026-1.rekor.example', logId: { keyId: keyId(V2) } },
  ],
});
const verdict = (v: Partial<SignatureVerdict>): SignatureVerdict => ({ ok: true, format: 'legacy', reference: 'r', ...v });
const image = (verdicts: SignatureVerdict[]) => ({ verdicts }) as unknown as ImageVerdict;

describe('the log of the signatures found', () => {
  it('maps a hex log id to the trusted root log that has it', () => {
    expect(logUrlById(root, V1)).toBe('https://rekor.example');
    expect(logUrlById(root, V2.toUpperCase())).toBe('https://log2026-1.rekor.example');
    expect(logUrlById(root, 'cc'.repeat(32))).toBeUndefined();
    expect(logUrlById('not json', V1)).toBeUndefined();
  });

  it("takes the passing signatures' log, the .sig ones first, the most common", () => {
    expect(logOfPassing([image([verdict({ logId: V2, format: 'bundle' }), verdict({ logId: V1 })])])).toBe(V1);
    expect(logOfPassing([image([verdict({ logId: V2, format: 'bundle' })])])).toBe(V2);
    expect(logOfPassing([image([verdict({ logId: V1, ok: false }), verdict({ logId: V2, format: 'bundle' })])])).toBe(V2);
    expect(logOfPassing([image([verdict({ logId: V1 }), verdict({ logId: V2 }), verdict({ logId: V2 })])])).toBe(V2);
    expect(logOfPassing([image([verdict({})])])).toBeUndefined();
  });

  it('replaces rekorUrl only when it was left to the trusted root', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'signing-log-')), 'trusted_root.json');
    writeFileSync(path, root);
    const sigstore = { kind: 'custom' as const, fulcioUrl: 'https://fulcio.example', rekorUrl: 'https://log2026-1.rekor.example', trustedRootPath: path };
    const results = [image([verdict({ logId: V1 })])];
    const derived = { sigstore: { ...sigstore, rekorUrlFromTrustedRoot: true } } as Config;
    expect(withLogOfSignatures(derived, results).sigstore.rekorUrl).toBe('https://rekor.example');
    const given = { sigstore } as Config;
    expect(withLogOfSignatures(given, results)).toBe(given);
    expect(withLogOfSignatures(derived, [image([verdict({ ok: false, logId: V1 })])])).toBe(derived);
  });
});
