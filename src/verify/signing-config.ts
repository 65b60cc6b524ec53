/**
 * Sigstore's SigningConfig v0.2 (the `signing_config*.v0.2.json` targets of its
 * TUF repository): which Fulcio, Rekor and timestamp authority to sign with.
 * Sigstore moves its logs to new shards by publishing a new signing config, so
 * the public-good services are read from it rather than written into the action.
 *
 * The selection follows the rules every Sigstore client applies (sigstore-go's
 * `root.SelectService` / `SelectServices`, which cosign 3 uses):
 * - only services whose `majorApiVersion` we speak, the highest first, and never
 *   a mix of versions;
 * - only services valid now (`validFor.start` ≤ now ≤ `validFor.end`), the newest
 *   start first;
 * - at most one service per operator; then the config's selector: ALL (every
 *   one), ANY (one, at random), EXACT (`count` of them, at random).
 * We write one log entry and one timestamp per signature, so where ALL or EXACT
 * asks for more, the first is used and the caller is told (a note): one of each
 * is what verifiers require.
 */
import { ServiceSelector, SigningConfig, type Service, type ServiceConfiguration } from '@sigstore/protobuf-specs';
import { isLoopbackHost } from '../registry/hosts.js';

export const SIGNING_CONFIG_TARGET = 'signing_config.v0.2.json';
export const SIGNING_CONFIG_REKOR_V2_TARGET = 'signing_config_rekor_v2.v0.2.json';
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

/** The API versions this action speaks: Fulcio v1 (`/api/v2/signingCert` is its v1 API), Rekor v1 and v2, RFC 3161 TSAs. */
export const FULCIO_API_VERSIONS = [1];
export const TSA_API_VERSIONS = [1];

export interface SigningServices {
  fulcioUrl: string;
  rekorUrl: string;
  rekorMajor: 1 | 2;
  /** The full RFC 3161 endpoint, when the config lists a timestamp authority valid now. */
  tsaUrl?: string;
  /** What the user should know about the choice (shown as warnings). */
  notes: string[];
}

/** Parses and checks a signing config; throws a description of what is wrong. */
export function parseSigningConfig(json: unknown): SigningConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('it is not a JSON object');
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (mediaType !== SIGNING_CONFIG_MEDIA_TYPE) {
    throw new Error(`its mediaType is ${JSON.stringify(mediaType)}, not ${SIGNING_CONFIG_MEDIA_TYPE}`);
  }
  const config = SigningConfig.fromJSON(json);
  if (!config.caUrls.length || !config.rekorTlogUrls.length) throw new Error('it lists no certificate authority or no transparency log');
  return config;
}

const validAt = (s: Service, now: Date): boolean =>
  !(s.validFor?.start && now < s.validFor.start) && !(s.validFor?.end && now > s.validFor.end);

/** Newest `validFor.start` first (a service without a start sorts last). */
const newestFirst = (services: Service[]): Service[] =>
  [...services].sort((a, b) => (b.validFor?.start?.getTime() ?? 0) - (a.validFor?.start?.getTime() ?? 0));

const highestFirst = (versions: number[]): number[] => [...versions].sort((a, b) => b - a);

/** One service: the highest supported version, then the newest valid now. */
export function selectService(services: Service[], versions: number[], now: Date): Service | undefined {
  for (const version of highestFirst(versions)) {
    const match = newestFirst(services).find((s) => s.majorApiVersion === version && validAt(s, now));
    if (match) return match;
  }
  return undefined;
}

/**
 * The services the selector picks, in the order to use them; empty when none
 * is valid now for the versions we speak. Throws when the config cannot be met.
 */
export function selectServices(
  services: Service[],
  config: ServiceConfiguration | undefined,
  versions: number[],
  now: Date,
  random: () => number = Math.random,
): Service[] {
  let candidates: Service[] = [];
  for (const version of highestFirst(versions)) {
    const operators = new Set<string>();
    candidates = newestFirst(services).filter((s) => {
      if (s.majorApiVersion !== version || !validAt(s, now) || operators.has(s.operator)) return false;
      operators.add(s.operator);
      return true;
    });
    if (candidates.length) break;
  }
  if (!candidates.length) return [];
  const shuffled = (list: Service[]): Service[] => {
    const copy = [...list];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  };
  switch (config?.selector) {
    case ServiceSelector.ALL:
      return candidates;
    case ServiceSelector.ANY:
      return shuffled(candidates).slice(0, 1);
    case ServiceSelector.EXACT: {
      const count = config.count;
      if (count <= 0) throw new Error('its selector is EXACT with a count of 0');
      if (count > candidates.length) throw new Error(`its selector asks for ${count} services, but ${candidates.length} can be used`);
      return shuffled(candidates).slice(0, count);
    }
    default:
      throw new Error('its service selector is missing or unknown');
  }
}

/** Service URLs come from a signed document, but still only https (http on loopback only), no trailing slash. */
function checkedUrl(raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`its ${what} URL "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
    throw new Error(`its ${what} URL ${raw} is not https`);
  }
  return url.href.replace(/\/+$/, '');
}

const describe = (versions: number[], now: Date): string => `API version ${versions.join(' or ')} valid at ${now.toISOString()}`;

/**
 * The services to sign with. `rekorVersions`: the Rekor API versions acceptable
 * (`[1]` for legacy signatures, `[2, 1]` for the Rekor v2 opt-in: v2 when one
 * is valid now, as sigstore-go prefers the highest). Throws a description of
 * what the config lacks.
 */
export function servicesFrom(config: SigningConfig, rekorVersions: number[], now: Date, random: () => number = Math.random): SigningServices {
  const notes: string[] = [];
  const fulcio = selectService(config.caUrls, FULCIO_API_VERSIONS, now);
  if (!fulcio) throw new Error(`it lists no certificate authority for ${describe(FULCIO_API_VERSIONS, now)}`);
  const rekors = selectServices(config.rekorTlogUrls, config.rekorTlogConfig, rekorVersions, now, random);
  if (!rekors.length) throw new Error(`it lists no transparency log for ${describe(rekorVersions, now)}`);
  if (rekors.length > 1) notes.push(`Sigstore's signing config asks for ${rekors.length} transparency log entries; one is written, at ${rekors[0].url}`);
  const tsas = config.tsaUrls.length ? selectServices(config.tsaUrls, config.tsaConfig, TSA_API_VERSIONS, now, random) : [];
  if (tsas.length > 1) notes.push(`Sigstore's signing config asks for ${tsas.length} timestamps; one is added, by ${tsas[0].url}`);
  const services: SigningServices = {
    fulcioUrl: checkedUrl(fulcio.url, 'certificate authority'),
    rekorUrl: checkedUrl(rekors[0].url, 'transparency log'),
    rekorMajor: rekors[0].majorApiVersion === 2 ? 2 : 1,
    notes,
  };
  if (tsas.length) services.tsaUrl = checkedUrl(tsas[0].url, 'timestamp authority');
  return services;
}
