/**
 * Lossless append to a tagged manifest under concurrency. Registries have no
 * compare-and-swap, and cosign's read–append–PUT loses signatures when two
 * signers race. Here each writer: reads the tag, merges, makes sure the read is
 * the last thing before its PUT (when building the manifest sent requests, a
 * HEAD checks that the tag did not move), PUTs, then reads back after a settle
 * delay long enough for a writer that passed its own check just before our PUT
 * to land. If our element or one we had read is missing, it merges the union
 * and writes again, a bounded number of times.
 *
 * The `.sig` manifest needs a config blob uploaded for its exact layer list
 * (two requests). When the caller knows what the tag most likely holds (nothing,
 * for a digest never signed), the config is uploaded before the read, so that the
 * read is itself the race guard; when the tag holds something else, the config
 * is built again and the HEAD guards the write.
 *
 * Existing elements are carried as their original JSON text (see json-raw.ts).
 *
 * The PUT itself is never retried blindly: a 503 answered (or a reset) and
 * retried a second later would land long after our HEAD check, over whatever
 * another writer put there meanwhile. A failed PUT goes back to the top (read,
 * merge, check, write), after the wait the registry asked for.
 */
import { ActionError } from '../errors.js';
import { backoffMs, DEFAULT_RETRY, type RetryPolicy } from '../net/http.js';
import type { Manifest, RegistryClient } from './client.js';
import { TransientRegistryError } from './errors.js';
import { rawArrayElements } from './json-raw.js';
import { imageName, MEDIA_TYPES, type Descriptor, type Repo } from './types.js';

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface AppendOptions {
  /** The signed image (`repo@sha256:…`), named in errors instead of the tag. */
  image?: string;
  /** Writes in all before giving up (default 10). */
  maxAttempts?: number;
  /** Wait before the second read-back; default twice our PUT's duration, 100 ms to 5 s. */
  settleMs?: number;
  /** Backoff between attempts (jittered). */
  backoff?: RetryPolicy;
  /** Failed writes (5xx, 429, resets) tolerated, each followed by a fresh read (default: DEFAULT_RETRY's attempts). */
  maxFailedWrites?: number;
  /** Most elements the list may hold; appending past it is refused (default: unbounded). */
  maxElements?: number;
  /**
   * What the tag most likely holds (null: nothing), when the caller has an idea: the
   * `.sig` config is then uploaded for that list plus ours before the read. Default:
   * no guess, the config is uploaded after the read.
   */
  likely?: Manifest | null;
}

/** cosign refuses to read a `.sig` manifest with more layers than this (and so every signature in it). */
export const COSIGN_MAX_SIGNATURE_LAYERS = 1000;

export interface AppendResult {
  /** The manifest at the tag as read back, holding every element. */
  descriptor: Descriptor;
  /** Rounds of read–merge–write it took: 1 without contention, 0 when everything was already there. */
  attempts: number;
  /** Elements in the list as read back (signatures in the `.sig`, referrers in the index). */
  count: number;
  /** The manifest as read back (the self-check reads it from here rather than asking again). */
  manifest?: Manifest;
}

export interface NewLayer {
  descriptor: Descriptor;
  blob: Buffer;
}

interface Element {
  /** The element's JSON text exactly as it will be written. */
  raw: string;
  value: Record<string, unknown>;
  id: string;
}

interface ListSpec {
  /** `layers` or `manifests`. */
  key: string;
  /** What the tag must hold for us to append to it. */
  mediaTypes: string[];
  identity(value: Record<string, unknown>): string;
  /** Pushes what the manifest needs and returns its body. */
  build(elements: Element[]): Promise<{ body: string; mediaType: string }>;
  /** build() sends requests (the `.sig` config upload): worth doing before the read, for the likely list. */
  buildSends: boolean;
  /** "signature", "referrer": for messages. */
  noun: string;
}

const DEFAULT_BACKOFF: RetryPolicy = { attempts: 10, baseDelayMs: 150, maxDelayMs: 3000, budgetMs: 120_000 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function layerIdentity(value: Record<string, unknown>): string {
  const annotations = (value.annotations ?? {}) as Record<string, unknown>;
  return `${String(value.digest)}|${String(annotations[COSIGN_SIGNATURE_ANNOTATION] ?? '')}`;
}

function digestIdentity(value: Record<string, unknown>): string {
  return String(value.digest);
}

function toElement(descriptor: Descriptor, spec: Pick<ListSpec, 'identity'>): Element {
  const value = descriptor as unknown as Record<string, unknown>;
  return { raw: JSON.stringify(descriptor), value, id: spec.identity(value) };
}

/** The elements of the list in the manifest at the tag, as written there. */
function elementsOf(manifest: Manifest | undefined, spec: ListSpec, repo: Repo, tag: string): Element[] {
  if (!manifest) return [];
  if (!spec.mediaTypes.includes(manifest.descriptor.mediaType)) {
    throw new ActionError(`the tag ${tag} holds a ${manifest.descriptor.mediaType}, not a ${spec.noun} list; refusing to overwrite it`, {
      image: imageName(repo, tag),
      fix: 'move or delete that tag, which is reserved for signatures of the image',
    });
  }
  let raws: string[];
  try {
    raws = rawArrayElements(manifest.body.toString('utf8'), spec.key) ?? [];
  } catch (err) {
    throw new ActionError(`the manifest at the tag is malformed (${(err as Error).message}); refusing to overwrite it`, {
      image: imageName(repo, tag),
    });
  }
  return raws.map((raw) => {
    const value = JSON.parse(raw) as Record<string, unknown>;
    return { raw, value, id: spec.identity(value) };
  });
}

/** `current` first (its order kept), then what we knew of but it lacks, then ours. */
function merge(current: Element[], known: Map<string, Element>): Element[] {
  const ids = new Set(current.map((e) => e.id));
  return [...current, ...[...known.values()].filter((e) => !ids.has(e.id))];
}

async function appendLossless(
  client: RegistryClient,
  repo: Repo,
  tag: string,
  ours: Element[],
  spec: ListSpec,
  opts: AppendOptions,
): Promise<AppendResult> {
  const maxAttempts = opts.maxAttempts ?? 10;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const maxFailedWrites = opts.maxFailedWrites ?? DEFAULT_RETRY.attempts;
  const failedWritesEndBy = Date.now() + DEFAULT_RETRY.budgetMs;
  let failedWrites = 0;
  // Everything that must end up in the list: ours, and every element we have seen there.
  const known = new Map<string, Element>();
  const mergedWith = (present: Element[]): Element[] => {
    for (const e of present) if (!known.has(e.id)) known.set(e.id, e);
    for (const e of ours) if (!known.has(e.id)) known.set(e.id, e);
    return merge(present, known);
  };
  const idsOf = (elements: Element[]): string => JSON.stringify(elements.map((e) => e.id));
  let prepared: { ids: string; body: string; mediaType: string } | undefined;
  if (spec.buildSends && opts.likely !== undefined) {
    // Not added to `known`: an element gone by the time we read was removed on purpose.
    const likely = merge(elementsOf(opts.likely ?? undefined, spec, repo, tag), new Map(ours.map((e) => [e.id, e])));
    if (opts.maxElements === undefined || likely.length <= opts.maxElements) prepared = { ids: idsOf(likely), ...(await spec.build(likely)) };
  }
  let current = await client.getManifest(repo, tag);
  // Nothing has been sent, and no time waited, since `current` was read: the read is the race guard.
  let fresh = true;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const present = elementsOf(current, spec, repo, tag);
    const merged = mergedWith(present);
    if (current && merged.length === present.length) {
      return { descriptor: current.descriptor, attempts: attempt - 1, count: present.length, manifest: current };
    }
    if (opts.maxElements !== undefined && merged.length > opts.maxElements) throw tooMany(repo, tag, spec, present.length, opts);

    let built: { body: string; mediaType: string } | undefined = prepared?.ids === idsOf(merged) ? prepared : undefined;
    if (!built) {
      built = await spec.build(merged);
      if (spec.buildSends) fresh = false;
    }
    const { body, mediaType } = built;
    // Unless the read was the last thing before this write, check the tag did not move since
    // (the config upload takes two round trips): without this, a writer that read before our
    // PUT and writes after our read-back would drop our element unseen. One HEAD closes that window.
    if (!fresh) {
      const now = await client.headManifest(repo, tag);
      if (now?.digest !== current?.descriptor.digest) {
        // Someone wrote since we read: merge their version instead of overwriting it.
        await sleep(backoffMs(attempt, backoff));
        current = await client.getManifest(repo, tag);
        fresh = true;
        continue;
      }
    }
    const putStarted = Date.now();
    try {
      await client.putManifest(repo, tag, body, mediaType, { once: true, attempt: failedWrites + 1 });
    } catch (err) {
      if (!(err instanceof TransientRegistryError) || ++failedWrites >= maxFailedWrites) throw err;
      const wait = err.retryAfterMs ?? backoffMs(failedWrites, DEFAULT_RETRY);
      if (Date.now() + wait > failedWritesEndBy) throw err;
      // Not a lost race: this round does not count against maxAttempts.
      attempt--;
      await sleep(wait);
      current = await client.getManifest(repo, tag);
      fresh = true;
      continue;
    }
    const settleMs = opts.settleMs ?? Math.min(5000, Math.max(100, 2 * (Date.now() - putStarted)));

    // One read-back, after a writer that read before our PUT has had time to write: if it
    // dropped our element (or we dropped one of theirs), merge and write again.
    await sleep(settleMs);
    current = await client.getManifest(repo, tag, { expectExists: true });
    const ids = new Set(elementsOf(current, spec, repo, tag).map((e) => e.id));
    const complete = ![...known.keys()].some((id) => !ids.has(id));
    if (complete && current) return { descriptor: current.descriptor, attempts: attempt, count: ids.size, manifest: current };
    await sleep(backoffMs(attempt, backoff));
    fresh = false;
  }
  throw new ActionError(
    `could not add the ${spec.noun}${ours.length > 1 ? 's' : ''} to ${imageName(repo, tag)}: other writers kept replacing the tag for ${maxAttempts} attempts`,
    { image: opts.image, fix: 'run the job again; what is already in the tag is kept' },
  );
}

function tooMany(repo: Repo, tag: string, spec: ListSpec, present: number, opts: AppendOptions): ActionError {
  return new ActionError(
    `${imageName(repo, tag)} already holds ${present} ${spec.noun}s; one more would pass ${opts.maxElements}, the most cosign reads ` +
      `(past it, verifiers reject every ${spec.noun} in the tag), so nothing was added`,
    {
      image: opts.image,
      fix: `remove ${spec.noun}s that are no longer needed from ${tag} (cosign clean --type ${spec.noun === 'attestation' ? 'attestation' : 'signature'} removes them all), then run the job again`,
    },
  );
}

/**
 * Appends signature layers to cosign's `.sig` manifest at `tag` (created when
 * absent). `buildConfig` makes the config blob from the final layer list.
 */
export async function appendLayers(
  client: RegistryClient,
  repo: Repo,
  tag: string,
  newLayers: NewLayer[],
  buildConfig: (layers: Descriptor[]) => Buffer,
  opts: AppendOptions & { configMediaType?: string; blobsPresent?: boolean; noun?: 'signature' | 'attestation' } = {},
): Promise<AppendResult> {
  opts = { maxElements: COSIGN_MAX_SIGNATURE_LAYERS, ...opts };
  const spec: ListSpec = {
    key: 'layers',
    mediaTypes: [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest],
    identity: layerIdentity,
    // `.sig` layers are signatures, `.att` layers attestations: errors name what the tag holds.
    noun: opts.noun ?? 'signature',
    buildSends: true,
    build: async (elements) => {
      const configBytes = buildConfig(elements.map((e) => e.value as unknown as Descriptor));
      // A config for this exact layer list is new unless this very list was written before: no HEAD first.
      const config = await client.pushBlob(repo, configBytes, opts.configMediaType ?? MEDIA_TYPES.ociConfig, { checkExists: false });
      const body =
        `{"schemaVersion":2,"mediaType":"${MEDIA_TYPES.ociManifest}","config":${JSON.stringify(config)},` +
        `"layers":[${elements.map((e) => e.raw).join(',')}]}`;
      return { body, mediaType: MEDIA_TYPES.ociManifest };
    },
  };
  // Our blobs go up once, before any manifest can name them (unless the caller already pushed them).
  if (!opts.blobsPresent) for (const layer of newLayers) await client.pushBlob(repo, layer.blob, layer.descriptor.mediaType);
  return appendLossless(client, repo, tag, newLayers.map((l) => toElement(l.descriptor, spec)), spec, opts);
}

/**
 * Appends referrer descriptors (with `artifactType` and `annotations`) to the
 * referrers tag schema's OCI index at `tag` (`sha256-<hex>`), created when absent.
 * The manifests they name must already be in the repository.
 */
export async function appendIndexDescriptors(
  client: RegistryClient,
  repo: Repo,
  tag: string,
  descriptors: Descriptor[],
  opts: AppendOptions = {},
): Promise<AppendResult> {
  const spec: ListSpec = {
    key: 'manifests',
    mediaTypes: [MEDIA_TYPES.ociIndex],
    identity: digestIdentity,
    noun: 'referrer',
    buildSends: false,
    build: async (elements) => ({
      body: `{"schemaVersion":2,"mediaType":"${MEDIA_TYPES.ociIndex}","manifests":[${elements.map((e) => e.raw).join(',')}]}`,
      mediaType: MEDIA_TYPES.ociIndex,
    }),
  };
  return appendLossless(client, repo, tag, descriptors.map((d) => toElement(d, spec)), spec, opts);
}
