/**
 * The `images`, `digest` and `metadata` inputs → the list of image references
 * to sign or verify. Part of config.ts, kept apart because it is the one input
 * group with rules of its own (digest filling, metadata JSON, dedupe).
 */
import { ActionError } from './errors.js';
import { formatRef, parseDigest, parseReference, type ImageRef } from './subjects/reference.js';

type Read = (name: string) => string;

const IMAGES_FIX = 'set images (e.g. ghcr.io/acme/app with digest: ${{ steps.build.outputs.digest }}) or metadata: ${{ steps.build.outputs.metadata }}';
const METADATA_FIX = "pass the `metadata` output of a docker/build-push-action step that pushed: ${{ steps.build.outputs.metadata }}";

/** Parsed, digest-filled and deduplicated references; names with only a tag stay as they are (resolved later). */
export function parseImageInputs(read: Read): ImageRef[] {
  const images = read('images');
  const metadata = read('metadata');
  const digestText = read('digest');
  if (images && metadata) {
    throw new ActionError('both `images` and `metadata` are set', { input: 'metadata', fix: 'keep one: metadata alone, or images (with digest)' });
  }
  const digest = digestText ? parseDigest(digestText, { input: 'digest' }).value : undefined;

  let refs: ImageRef[];
  if (metadata) {
    const fromBuild = parseMetadata(metadata);
    if (digest && digest !== fromBuild.digest) {
      throw new ActionError(`\`digest\` is ${digest} but the metadata's containerimage.digest is ${fromBuild.digest}`, {
        input: 'digest',
        fix: 'drop the digest input: metadata already carries the digest',
      });
    }
    refs = fromBuild.names.map((name) => withDigest(parseReference(name, { input: 'metadata', implicitDockerHub: true }), fromBuild.digest, 'metadata'));
  } else if (images) {
    refs = splitList(images).map((text) => withDigest(parseReference(text), digest, 'digest'));
  } else {
    throw new ActionError('no image is given', { input: 'images', fix: IMAGES_FIX });
  }
  if (refs.length === 0) throw new ActionError('the list of images is empty', { input: metadata ? 'metadata' : 'images', fix: IMAGES_FIX });
  return dedupe(refs);
}

/** build-push-action's metadata: flat keys with dots, `image.name` a comma-separated list. */
function parseMetadata(text: string): { names: string[]; digest: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ActionError(`metadata is not JSON (${(e as Error).message})`, { input: 'metadata', fix: METADATA_FIX });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ActionError('metadata is not a JSON object', { input: 'metadata', fix: METADATA_FIX });
  }
  const fields = parsed as Record<string, unknown>;
  const name = fields['image.name'];
  if (typeof name !== 'string' || !name.trim()) {
    throw new ActionError('metadata has no "image.name" (was the image pushed, with tags or a name?)', { input: 'metadata', fix: METADATA_FIX });
  }
  const digest = fields['containerimage.digest'];
  if (typeof digest !== 'string' || !digest.trim()) {
    throw new ActionError('metadata has no "containerimage.digest"', { input: 'metadata', fix: METADATA_FIX });
  }
  return { names: splitList(name), digest: parseDigest(digest, { input: 'metadata' }).value };
}

/** A name without a digest takes the shared one; a name with a different digest of its own is a contradiction. */
function withDigest(ref: ImageRef, digest: string | undefined, source: 'digest' | 'metadata'): ImageRef {
  if (!digest) return ref;
  if (!ref.digest) return { ...ref, digest };
  if (ref.digest === digest) return ref;
  const other = source === 'digest' ? 'the `digest` input' : "the metadata's containerimage.digest";
  throw new ActionError(`the name has its own digest ${ref.digest}, but ${other} is ${digest}`, {
    image: ref.original,
    input: source,
    fix: 'keep one digest: remove it from the name or from the digest input',
  });
}

/** Newlines or commas; trimmed; empty entries dropped (a trailing comma is harmless). */
function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Identical references (after normalisation: `nginx` and `docker.io/library/nginx`) are kept once, first wins. */
function dedupe(refs: ImageRef[]): ImageRef[] {
  const seen = new Map<string, ImageRef>();
  for (const ref of refs) if (!seen.has(formatRef(ref))) seen.set(formatRef(ref), ref);
  return [...seen.values()];
}
