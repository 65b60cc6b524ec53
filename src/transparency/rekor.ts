/**
 * A Rekor v1 client: create an entry (hashedrekord for legacy signatures, dsse
 * for bundles) and fetch an existing one. 409 (the same entry exists, e.g. a
 * retried request that had landed) is not an error: we fetch the entry it names.
 * 5xx, 429 and timeouts are retried by http.ts, never past the deadline the
 * caller gives (the signing certificate's expiry: an entry logged after it
 * would not verify).
 */
import { ActionError } from '../errors.js';
import { HttpError, jsonBody, request, type HttpResponse } from '../net/http.js';

export interface InclusionProof {
  logIndex: number;
  rootHash: string;
  treeSize: number;
  hashes: string[];
  checkpoint: string;
}

export interface RekorEntry {
  uuid: string;
  logIndex: number;
  /** Log id, hex (sha256 of the log's public key). */
  logId: string;
  integratedTime: number;
  /** The canonical entry body, base64. */
  body: string;
  /** Signed entry timestamp, base64. */
  signedEntryTimestamp: string;
  inclusionProof?: InclusionProof;
  kind: string;
  apiVersion: string;
}

type EntryMap = Record<
  string,
  {
    body: string;
    integratedTime: number;
    logID: string;
    logIndex: number;
    verification?: { signedEntryTimestamp?: string; inclusionProof?: InclusionProof };
  }
>;

export function hashedRekordProposal(payloadSha256Hex: string, signatureB64: string, certificatePem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: payloadSha256Hex } },
      signature: { content: signatureB64, publicKey: { content: Buffer.from(certificatePem).toString('base64') } },
    },
  };
}

export function parseEntries(map: EntryMap): RekorEntry[] {
  return Object.entries(map).map(([uuid, e]) => {
    const decoded = JSON.parse(Buffer.from(e.body, 'base64').toString('utf8')) as { kind?: string; apiVersion?: string };
    return {
      uuid,
      logIndex: e.logIndex,
      logId: e.logID,
      integratedTime: e.integratedTime,
      body: e.body,
      signedEntryTimestamp: e.verification?.signedEntryTimestamp ?? '',
      inclusionProof: e.verification?.inclusionProof,
      kind: decoded.kind ?? 'unknown',
      apiVersion: decoded.apiVersion ?? 'unknown',
    };
  });
}

export interface EntryOptions {
  /** Latest moment (epoch ms) to try: the signing certificate's notAfter. */
  deadline?: number;
}

const UNAVAILABLE_FIX = 'the transparency log is unavailable (https://status.sigstore.dev); re-run the job later — nothing was attached for this image';

/** The entry a 409 names: its Location header, else the UUID in Rekor's message. */
function existingEntryPath(res: HttpResponse): string | undefined {
  const location = res.headers.get('location');
  if (location) return location;
  const uuid = /\b([0-9a-f]{80}|[0-9a-f]{64})\b/.exec(res.body.toString('utf8'))?.[1];
  return uuid ? `/api/v1/log/entries/${uuid}` : undefined;
}

export class RekorClient {
  requests = 0;

  constructor(
    readonly baseUrl: string,
    private readonly deadline?: () => number | undefined,
  ) {}

  private async send(method: string, url: string, body: object | undefined, image: string | undefined, deadline: number | undefined): Promise<HttpResponse> {
    this.requests++;
    try {
      return await request({
        method,
        url,
        headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        timeoutMs: 30_000,
        deadline,
      });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== undefined) throw err;
      throw new ActionError(`Rekor (${this.baseUrl}): ${err.message}${certificateNote(err.gaveUp, deadline)}`, { image, fix: UNAVAILABLE_FIX, cause: err });
    }
  }

  async createEntry(proposed: object, image?: string, opts: EntryOptions = {}): Promise<RekorEntry> {
    const deadline = opts.deadline ?? this.deadline?.();
    const res = await this.send('POST', `${this.baseUrl}/api/v1/log/entries`, proposed, image, deadline);
    if (res.status === 409) {
      // Our earlier attempt landed though its answer was lost: the log already holds this very entry.
      const existing = existingEntryPath(res);
      if (existing) return this.getByUrl(new URL(existing, this.baseUrl).toString(), image, deadline);
    }
    if (res.status !== 201 && res.status !== 200) throw this.failure('refused the log entry', res, image, deadline);
    const entry = parseEntries(jsonBody<EntryMap>(res))[0];
    if (!entry?.signedEntryTimestamp) throw new ActionError(`Rekor (${this.baseUrl}) answered without a signed entry timestamp`, { image });
    return entry;
  }

  async getByIndex(logIndex: number, image?: string): Promise<RekorEntry> {
    return this.getByUrl(`${this.baseUrl}/api/v1/log/entries?logIndex=${logIndex}`, image, this.deadline?.());
  }

  private async getByUrl(url: string, image: string | undefined, deadline: number | undefined): Promise<RekorEntry> {
    const res = await this.send('GET', url, undefined, image, deadline);
    if (res.status !== 200) throw this.failure('could not return the existing entry', res, image, deadline);
    const entry = parseEntries(jsonBody<EntryMap>(res))[0];
    if (!entry) throw new ActionError(`Rekor (${this.baseUrl}) returned no entry at ${url}`, { image });
    return entry;
  }

  private failure(what: string, res: HttpResponse, image: string | undefined, deadline: number | undefined): ActionError {
    const detail = res.body.toString('utf8').slice(0, 300).trim();
    const tries = res.attempts && res.attempts > 1 ? ` (after ${res.attempts} attempts)` : '';
    return new ActionError(`Rekor (${this.baseUrl}) ${what}: HTTP ${res.status}${tries} ${detail}${certificateNote(res.gaveUp, deadline)}`, {
      image,
      fix: res.status >= 500 || res.status === 429 || res.status === 408 ? UNAVAILABLE_FIX : 'check `rekor-url` (it must be a Rekor v1 API)',
    });
  }
}

/** Why we stopped early, when the certificate's expiry was the limit. */
function certificateNote(gaveUp: string | undefined, deadline: number | undefined): string {
  if (gaveUp !== 'deadline' || deadline === undefined) return '';
  return `; stopped retrying because the signing certificate expires at ${new Date(deadline).toISOString()} (an entry logged after that would not verify)`;
}

/** The link users click: search.sigstore.dev for the public log, the API otherwise. */
export function entryUrl(instance: 'public-good' | 'custom', rekorUrl: string, logIndex: number): string {
  return instance === 'public-good'
    ? `https://search.sigstore.dev/?logIndex=${logIndex}`
    : `${rekorUrl}/api/v1/log/entries?logIndex=${logIndex}`;
}
