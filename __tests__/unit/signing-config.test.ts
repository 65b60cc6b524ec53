/**
 * SigningConfig v0.2 service selection, on Sigstore's real public-good targets
 * (sigstore/root-signing, see fixtures/real-world/PROVENANCE.md) and on made-up
 * configs for each rule: API versions (highest first, never mixed), validFor
 * windows (newest start first), one service per operator, ALL / ANY / EXACT.
 */
import { readFileSync } from 'node:fs';
import { parseSigningConfig, selectService, selectServices, servicesFrom } from '../../src/verify/signing-config.js';
import { ServiceSelector, type Service } from '@sigstore/protobuf-specs';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/real-world/${name}`, import.meta.url), 'utf8'));
const PLAIN = fixture('public-good-signing-config.v0.2.json');
const REKOR_V2 = fixture('public-good-signing-config-rekor-v2.v0.2.json');
const NOW = new Date('2026-12-06T12:00:00Z');
const MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

const svc = (url: string, majorApiVersion: number, start: string, extra: { end?: string; operator?: string } = {}): Service => ({
  url,
  majorApiVersion,
  validFor: { start: new Date(start), end: extra.end ? new Date(extra.end) : undefined },
  operator: extra.operator ?? 'sigstore.dev',
});

describe("Sigstore's public-good signing configs", () => {
  it('signing_config.v0.2.json: fulcio.sigstore.dev, rekor.sigstore.dev (v1) and timestamp.sigstore.dev', () => {
    expect(servicesFrom(parseSigningConfig(PLAIN), [1], NOW)).toEqual({
      fulcioUrl: 'https://fulcio.sigstore.dev',
      rekorUrl: 'https://rekor.sigstore.dev',
      rekorMajor: 1,
      tsaUrl: 'https://timestamp.sigstore.dev/api/v1/timestamp',
      notes: [],
    });
  });

  it('signing_config_rekor_v2.v0.2.json with Rekor v2 accepted: the v2 shard, not rekor.sigstore.dev', () => {
    const services = servicesFrom(parseSigningConfig(REKOR_V2), [2, 1], NOW);
    expect(services).toMatchObject({ rekorUrl: 'https://log2025-1.rekor.sigstore.dev', rekorMajor: 2, tsaUrl: 'https://timestamp.sigstore.dev/api/v1/timestamp' });
  });

  it('the Rekor v2 config read by a client that speaks v1 only, or before the shard opened, gives Rekor v1', () => {
    expect(servicesFrom(parseSigningConfig(REKOR_V2), [1], NOW).rekorUrl).toBe('https://rekor.sigstore.dev');
    expect(servicesFrom(parseSigningConfig(REKOR_V2), [2, 1], new Date('2025-12-31T23:00:00Z'))).toMatchObject({ rekorUrl: 'https://rekor.sigstore.dev', rekorMajor: 1 });
  });
});

describe('service selection rules', () => {
  const shards = [
    svc('https://log2024.example', 2, '2024-01-01T00:00:00Z', { end: '2025-01-01T00:00:00Z' }),
    svc('https://log2026.example', 2, '2026-01-01T00:00:00Z'),
    svc('https://log2025.example', 2, '2025-01-01T00:00:00Z'),
    svc('https://log2027.example', 2, '2027-01-01T00:00:00Z'),
    svc('https://v1.example', 1, '2021-01-01T00:00:00Z'),
  ];

  it('takes the newest shard valid now: not an expired one, not one that has not started', () => {
    expect(selectService(shards, [2], NOW)?.url).toBe('https://log2026.example');
    expect(selectService(shards, [2], new Date('2024-06-01T00:00:00Z'))?.url).toBe('https://log2024.example');
    expect(selectService(shards, [2], new Date('2025-06-01T00:00:00Z'))?.url).toBe('https://log2025.example');
    expect(selectService(shards, [2], new Date('2027-06-01T00:00:00Z'))?.url).toBe('https://log2027.example');
  });

  it('prefers the highest API version it speaks, and ignores versions it does not', () => {
    expect(selectService(shards, [1, 2], NOW)?.majorApiVersion).toBe(2);
    expect(selectService(shards, [1], NOW)?.url).toBe('https://v1.example');
    expect(selectService(shards, [3], NOW)).toBeUndefined();
    expect(selectService(shards, [2], new Date('2020-01-01T00:00:00Z'))).toBeUndefined();
  });

  const byOperator = [
    svc('https://a-new.example', 1, '2025-01-01T00:00:00Z', { operator: 'a' }),
    svc('https://a-old.example', 1, '2020-01-01T00:00:00Z', { operator: 'a' }),
    svc('https://b.example', 1, '2022-01-01T00:00:00Z', { operator: 'b' }),
    svc('https://c-v2.example', 2, '2022-01-01T00:00:00Z', { operator: 'c' }),
  ];

  it('ALL: the newest service of each operator, of one API version only', () => {
    const all = selectServices(byOperator, { selector: ServiceSelector.ALL, count: 0 }, [1], NOW);
    expect(all.map((s) => s.url)).toEqual(['https://a-new.example', 'https://b.example']);
    // v2 is preferred and never mixed with v1: operator c alone.
    expect(selectServices(byOperator, { selector: ServiceSelector.ALL, count: 0 }, [1, 2], NOW).map((s) => s.url)).toEqual(['https://c-v2.example']);
  });

  it('ANY: one of them, at random', () => {
    const any = (r: number) => selectServices(byOperator, { selector: ServiceSelector.ANY, count: 0 }, [1], NOW, () => r).map((s) => s.url);
    expect(any(0.99)).toHaveLength(1);
    expect(new Set([...any(0), ...any(0.99)])).toEqual(new Set(['https://a-new.example', 'https://b.example']));
  });

  it('EXACT: `count` distinct ones; more than there are, or 0, is an error', () => {
    const exact = selectServices(byOperator, { selector: ServiceSelector.EXACT, count: 2 }, [1], NOW, () => 0.5);
    expect(new Set(exact.map((s) => s.url))).toEqual(new Set(['https://a-new.example', 'https://b.example']));
    expect(() => selectServices(byOperator, { selector: ServiceSelector.EXACT, count: 3 }, [1], NOW)).toThrow('asks for 3 services, but 2 can be used');
    expect(() => selectServices(byOperator, { selector: ServiceSelector.EXACT, count: 0 }, [1], NOW)).toThrow('count of 0');
    expect(() => selectServices(byOperator, undefined, [1], NOW)).toThrow('selector is missing');
  });
});

describe('servicesFrom', () => {
  const base = {
    mediaType: MEDIA_TYPE,
    caUrls: [{ url: 'https://ca.example', majorApiVersion: 1, validFor: { start: '2020-01-01T00:00:00Z' }, operator: 'x' }],
    rekorTlogUrls: [
      { url: 'https://log-a.example', majorApiVersion: 1, validFor: { start: '2020-01-01T00:00:00Z' }, operator: 'a' },
      { url: 'https://log-b.example', majorApiVersion: 1, validFor: { start: '2020-01-01T00:00:00Z' }, operator: 'b' },
    ],
    rekorTlogConfig: { selector: 'ALL' },
    tsaConfig: { selector: 'ANY' },
  };

  it('writes one log entry where the config asks for more, and says so', () => {
    const services = servicesFrom(parseSigningConfig(base), [1], NOW);
    expect(services.rekorUrl).toBe('https://log-a.example');
    expect(services.tsaUrl).toBeUndefined();
    expect(services.notes).toEqual(["Sigstore's signing config asks for 2 transparency log entries; one is written, at https://log-a.example"]);
  });

  it('says what the config lacks', () => {
    expect(() => servicesFrom(parseSigningConfig({ ...base, caUrls: [{ ...base.caUrls[0], majorApiVersion: 2 }] }), [1], NOW)).toThrow(
      'it lists no certificate authority for API version 1 valid at 2026-12-06T12:00:00.000Z',
    );
    expect(() => servicesFrom(parseSigningConfig(base), [2], NOW)).toThrow('it lists no transparency log for API version 2 valid at');
  });

  it('refuses plain http to anything but loopback, a wrong media type, and what is not a signing config', () => {
    const http = { ...base, caUrls: [{ ...base.caUrls[0], url: 'http://ca.example' }] };
    expect(() => servicesFrom(parseSigningConfig(http), [1], NOW)).toThrow('certificate authority URL http://ca.example is not https');
    const loopback = { ...base, caUrls: [{ ...base.caUrls[0], url: 'http://127.0.0.1:8080/' }] };
    expect(servicesFrom(parseSigningConfig(loopback), [1], NOW).fulcioUrl).toBe('http://127.0.0.1:8080');
    expect(() => parseSigningConfig({ ...base, mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.1+json' })).toThrow('its mediaType is');
    expect(() => parseSigningConfig({ mediaType: MEDIA_TYPE })).toThrow('lists no certificate authority or no transparency log');
    expect(() => parseSigningConfig([])).toThrow('not a JSON object');
  });
});
