/**
 * Image references → the unique repository@digest subjects to sign. Tags are
 * resolved to digests (with a warning: the digest is what gets signed), every
 * digest must exist in the registry before anything is signed (cosign signs
 * digests that do not exist), and `recursive` expands image indexes.
 */
import type { Recursive } from '../config-types.js';
import { ActionError } from '../errors.js';
import { repositoryOf, type ImageRef } from './reference.js';

export const INDEX_MEDIA_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

export interface RepoRef {
  registry: string;
  repository: string;
}

export interface ManifestDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface Subject {
  repo: RepoRef;
  digest: string;
  mediaType: string;
  size: number;
  /** cosign's docker-reference: the repository with its registry, no tag or digest. */
  dockerReference: string;
  /** How the user named it (tags, names), for the report. */
  names: string[];
  /** For a child of an index: its platform (`linux/arm64`) or `attestation`. */
  platform?: string;
  /** The index this was found in, for recursive signing. */
  parent?: string;
}

export interface ManifestSource {
  headManifest(repo: RepoRef, ref: string, opts?: { expectExists?: boolean }): Promise<ManifestDescriptor | undefined>;
  getManifest(repo: RepoRef, ref: string): Promise<{ json: unknown } | undefined>;
}

export interface ResolveLog {
  warning(message: string): void;
  info(message: string): void;
}

export const subjectKey = (s: { repo: RepoRef; digest: string }): string => `${s.repo.registry}/${s.repo.repository}@${s.digest}`;

export function isAttestationManifest(d: ManifestDescriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown')
  );
}

export function platformString(d: ManifestDescriptor): string | undefined {
  if (!d.platform) return undefined;
  return [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/');
}

export interface ResolveOptions {
  recursive: Recursive;
  /**
   * `sign`: every digest must exist before anything is signed (cosign signs
   * digests that do not exist). `verify`: like `cosign verify`, a digest is
   * checked from its signatures alone, even when its manifest cannot be read.
   */
  purpose: 'sign' | 'verify';
}

async function resolveOne(ref: ImageRef, source: ManifestSource, log: ResolveLog, opts: ResolveOptions): Promise<Subject> {
  const repo = { registry: ref.registry, repository: ref.repository };
  const image = ref.original;
  const target = ref.digest ?? ref.tag ?? 'latest';
  const found = await source.headManifest(repo, target, { expectExists: opts.purpose === 'sign' });
  if (!found && ref.digest && opts.purpose === 'verify') {
    log.info(`${image}: the manifest is not readable in ${repositoryOf(ref)}; checking its signatures by digest alone (as cosign verify does)`);
    return { repo, digest: ref.digest, mediaType: 'unknown', size: 0, dockerReference: repositoryOf(ref), names: [image] };
  }
  if (!found) {
    throw new ActionError(`${ref.digest ? 'digest' : `tag ${target}`} not found in ${repositoryOf(ref)}`, {
      image,
      fix: 'push the image first (docker/build-push-action with `push: true`) and pass its digest, or check the name',
    });
  }
  if (!ref.digest) {
    log.warning(
      opts.purpose === 'sign'
        ? `${image}: resolved tag '${target}' to ${found.digest}; the digest is what gets signed (tags can move). Pass the digest to be explicit: images: ${repositoryOf(ref)}@${found.digest}`
        : `${image}: resolved tag '${target}' to ${found.digest}; that digest is what gets verified (tags can move)`,
    );
  }
  return {
    repo,
    digest: found.digest,
    mediaType: found.mediaType,
    size: found.size,
    dockerReference: repositoryOf(ref),
    names: [image],
  };
}

async function children(subject: Subject, source: ManifestSource, mode: Recursive, depth: number): Promise<Subject[]> {
  if (mode === 'none' || !INDEX_MEDIA_TYPES.includes(subject.mediaType) || depth > 4) return [];
  const index = await source.getManifest(subject.repo, subject.digest);
  const manifests = ((index?.json as { manifests?: ManifestDescriptor[] })?.manifests ?? []).slice(0, 1000);
  const out: Subject[] = [];
  for (const m of manifests) {
    if (mode === 'platforms' && isAttestationManifest(m)) continue;
    const child: Subject = {
      repo: subject.repo,
      digest: m.digest,
      mediaType: m.mediaType,
      size: m.size,
      dockerReference: subject.dockerReference,
      names: [`${subject.dockerReference}@${m.digest}`],
      platform: isAttestationManifest(m) ? 'attestation' : platformString(m),
      parent: subject.digest,
    };
    out.push(child, ...(await children(child, source, mode, depth + 1)));
  }
  return out;
}

export interface Unresolved {
  ref: ImageRef;
  error: unknown;
}

/** Every image's subjects; the images that could not be resolved are returned apart, not thrown. */
export async function resolveSubjectsSettled(
  images: ImageRef[],
  source: ManifestSource,
  opts: ResolveOptions,
  log: ResolveLog,
): Promise<{ subjects: Subject[]; unresolved: Unresolved[] }> {
  const { recursive } = opts;
  const unique = new Map<string, Subject>();
  const add = (s: Subject): void => {
    const known = unique.get(subjectKey(s));
    if (known) known.names.push(...s.names.filter((n) => !known.names.includes(n)));
    else unique.set(subjectKey(s), s);
  };
  const settled = await Promise.allSettled(images.map((ref) => resolveOne(ref, source, log, opts)));
  const unresolved = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ ref: images[i], error: r.reason as unknown }] : []));
  const top = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  top.forEach(add);
  for (const s of top) (await children(s, source, recursive, 0)).forEach(add);
  const merged = top.length - new Set(top.map(subjectKey)).size;
  if (merged > 0) log.info(`${merged} name(s) point at a digest already listed: each repository@digest is signed once`);
  return { subjects: [...unique.values()], unresolved };
}

/** Every image's subjects; the first image that cannot be resolved fails the whole call. */
export async function resolveSubjects(images: ImageRef[], source: ManifestSource, opts: ResolveOptions, log: ResolveLog): Promise<Subject[]> {
  const { subjects, unresolved } = await resolveSubjectsSettled(images, source, opts, log);
  if (unresolved.length) throw unresolved[0].error;
  return subjects;
}
