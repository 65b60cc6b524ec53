/**
 * A Rekor v1 client: create an entry (hashedrekord for legacy signatures, dsse
 * for bundles) and fetch an existing one. 409 (the same entry exists, e.g. a
 * retried request that had landed) is not an error: we fetch the entry it names.
 */
import { ActionError } from '../errors.js';
import { jsonBody, request, type HttpResponse } from '../net/http.js';

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

export class RekorClient {
  requests = 0;

  constructor(
    readonly baseUrl: string,
    private readonly deadline?: () => number | undefined,
  ) {}

  private async send(method: string, url: string, body?: object): Promise<HttpResponse> {
    this.requests++;
    return request({
      method,
      url,
      headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      timeoutMs: 30_000,
      deadline: this.deadline?.(),
    });
  }

  async createEntry(proposed: object, image?: string): Promise<RekorEntry> {
    const res = await this.send('POST', `${this.baseUrl}/api/v1/log/entries`, proposed);
    if (res.status === 409) {
      const location = res.headers.get('location');
      if (location) return this.getByUrl(new URL(location, this.baseUrl).toString(), image);
    }
    if (res.status !== 201 && res.status !== 200) throw this.failure('refused the log entry', res, image);
    const entry = parseEntries(jsonBody<EntryMap>(res))[0];
    if (!entry?.signedEntryTimestamp) throw new ActionError(`Rekor (${this.baseUrl}) answered without a signed entry timestamp`, { image });
    return entry;
  }

  async getByIndex(logIndex: number, image?: string): Promise<RekorEntry> {
    return this.getByUrl(`${this.baseUrl}/api/v1/log/entries?logIndex=${logIndex}`, image);
  }

  private async getByUrl(url: string, image?: string): Promise<RekorEntry> {
    const res = await this.send('GET', url);
    if (res.status !== 200) throw this.failure('could not return the existing entry', res, image);
    const entry = parseEntries(jsonBody<EntryMap>(res))[0];
    if (!entry) throw new ActionError(`Rekor (${this.baseUrl}) returned no entry at ${url}`, { image });
    return entry;
  }

  private failure(what: string, res: HttpResponse, image?: string): ActionError {
    const detail = res.body.toString('utf8').slice(0, 300).trim();
    return new ActionError(`Rekor (${this.baseUrl}) ${what}: HTTP ${res.status} ${detail}`, {
      image,
      fix:
        res.status >= 500 || res.status === 429
          ? 'the transparency log is unavailable (https://status.sigstore.dev); re-run the job later — nothing was attached for this image'
          : 'check `rekor-url` (it must be a Rekor v1 API)',
    });
  }
}

/** The link users click: search.sigstore.dev for the public log, the API otherwise. */
export function entryUrl(instance: 'public-good' | 'custom', rekorUrl: string, logIndex: number): string {
  return instance === 'public-good'
    ? `https://search.sigstore.dev/?logIndex=${logIndex}`
    : `${rekorUrl}/api/v1/log/entries?logIndex=${logIndex}`;
}
