/**
 * Image references as users write them, parsed and normalised the way Docker
 * (go-containerregistry's `name` package) does, so that the repository we sign
 * is byte for byte the `docker-reference` cosign computes for the same text.
 *
 * One deliberate difference: a name with no registry host (`acme/app`, `nginx`)
 * is rejected unless the caller allows it. Docker would send it to Docker Hub,
 * but users of this action who forget the host nearly always meant GHCR, and
 * signing (or failing to find) a Docker Hub image by accident is worse than
 * asking them to write `docker.io/acme/app`. Only build-push-action's metadata,
 * which names images that were actually pushed, is read the Docker way.
 */
import { isIPv6 } from 'node:net';
import { ActionError, type ActionErrorDetails } from '../errors.js';

export interface ImageRef {
  /** Host, with port when given; Docker Hub is always `index.docker.io`. */
  registry: string;
  /** Path inside the registry; Docker Hub single names get `library/`. */
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>` or `sha512:<128 hex>`. */
  digest?: string;
  /** The text as the user wrote it (trimmed). */
  original: string;
}

export interface ParsedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
  /** `<algorithm>:<hex>`. */
  value: string;
}

export interface ParseReferenceOptions {
  /** The input named in errors (default `images`). */
  input?: string;
  /** Read a name without registry host as Docker Hub, as Docker does (default false: reject it). */
  implicitDockerHub?: boolean;
}

export const DOCKER_HUB = 'index.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DIGEST_HEX_LENGTH = { sha256: 64, sha512: 128 } as const;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-*)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const HOST_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
const MAX_REPOSITORY_LENGTH = 255;
const EXAMPLE = 'ghcr.io/acme/app@sha256:<64 hex>';

/** Parses one reference; throws an ActionError naming the input, the text and the fix. */
export function parseReference(text: string, options: ParseReferenceOptions = {}): ImageRef {
  const original = text.trim();
  const input = options.input ?? 'images';
  const fail = (what: string, fix: string) => new ActionError(what, { image: shown(original), input, fix });

  if (!original) throw fail('an image reference is empty', `write an image such as ${EXAMPLE}`);
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(original);
  if (scheme) throw fail('an image reference has no URL scheme', `drop "${scheme[0]}": write ${original.slice(scheme[0].length)}`);
  if (/\s/.test(original)) throw fail('the reference contains white space', 'separate images with newlines or commas');

  let name = original;
  let digest: string | undefined;
  const at = original.indexOf('@');
  if (at >= 0) {
    name = original.slice(0, at);
    const digestText = original.slice(at + 1);
    if (!digestText) throw fail('nothing follows "@"', 'write the digest after @ (sha256:<64 hex>), or drop the @');
    if (digestText.includes('@')) throw fail('the reference has more than one "@"', `write one digest: ${EXAMPLE}`);
    digest = parseDigest(digestText, { image: shown(original), input }).value;
  }

  if (!name.includes('/')) return parseSingleComponent(name, digest, original, options, fail);

  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  // A colon followed by a slash belongs to a host:port, not to a tag.
  if (colon >= 0 && !name.slice(colon + 1).includes('/')) {
    tag = checkTag(name.slice(colon + 1), fail);
    name = name.slice(0, colon);
  }

  const slash = name.indexOf('/');
  const first = name.slice(0, slash);
  if (!looksLikeHost(first)) {
    if (!options.implicitDockerHub) throw noHost(original, fail);
    return build(DOCKER_HUB, name, tag, digest, original, fail);
  }
  return build(checkHost(first, original, fail), name.slice(slash + 1), tag, digest, original, fail);
}

/** `registry/repository`: exactly cosign's docker-reference (`index.docker.io/library/nginx`). */
export function repositoryOf(ref: Pick<ImageRef, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The normalised reference: `registry/repository[:tag][@digest]`. */
export function formatRef(ref: ImageRef): string {
  return `${repositoryOf(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Validates `sha256:<64 lower-case hex>` or `sha512:<128>`; errors say what is wrong and carry `details`. */
export function parseDigest(text: string, details: ActionErrorDetails = {}): ParsedDigest {
  const value = text.trim();
  const fail = (what: string, fix: string) => new ActionError(what, { ...details, fix });
  const colon = value.indexOf(':');
  if (colon < 0) throw fail(`the digest "${value}" has no algorithm`, 'write it as sha256:<64 hex>, e.g. ${{ steps.build.outputs.digest }}');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    const lower = algorithm.toLowerCase();
    if (lower === 'sha256' || lower === 'sha512') throw fail(`the digest algorithm "${algorithm}" must be lower-case`, `write ${lower}:${hex.toLowerCase()}`);
    throw fail(`the digest algorithm "${algorithm}" is unknown`, 'use a sha256:<64 hex> digest (sha512:<128 hex> is also accepted)');
  }
  const expected = DIGEST_HEX_LENGTH[algorithm];
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw fail(`the digest "${value}" has characters that are not hexadecimal`, `write ${algorithm}: followed by ${expected} hex digits (0-9, a-f)`);
  if (hex.length !== expected) {
    throw fail(`the ${algorithm} digest has ${hex.length} hex digits, not ${expected}`, 'copy the whole digest, e.g. from ${{ steps.build.outputs.digest }}');
  }
  if (/[A-F]/.test(hex)) throw fail('the digest has upper-case hex digits', `write it in lower case: ${algorithm}:${hex.toLowerCase()}`);
  return { algorithm, hex, value };
}

type Fail = (what: string, fix: string) => ActionError;

/** `nginx`, `nginx:1.27`, or a host with no repository (`ghcr.io`, `localhost:5000`). */
function parseSingleComponent(name: string, digest: string | undefined, original: string, options: ParseReferenceOptions, fail: Fail): ImageRef {
  const colon = name.indexOf(':');
  const beforeColon = colon >= 0 ? name.slice(0, colon) : name;
  if (name.startsWith('[') || beforeColon.includes('.') || beforeColon === 'localhost') {
    throw fail('this names a registry host but no repository', `add the repository path: ${beforeColon}/acme/app`);
  }
  if (!options.implicitDockerHub) throw noHost(original, fail);
  const tag = colon >= 0 ? checkTag(name.slice(colon + 1), fail) : undefined;
  return build(DOCKER_HUB, beforeColon, tag, digest, original, fail);
}

function noHost(original: string, fail: Fail): ActionError {
  return fail(
    'the image has no registry host (Docker would silently use Docker Hub)',
    `write the registry host: docker.io/${original} for Docker Hub, ghcr.io/${original} for GHCR`,
  );
}

function build(host: string, repository: string, tag: string | undefined, digest: string | undefined, original: string, fail: Fail): ImageRef {
  const registry = DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
  const components = repository.split('/');
  if (components.some((c) => c === '')) {
    throw fail('the repository path has an empty component (a leading, trailing or double "/")', 'remove the extra "/"');
  }
  if (repository !== repository.toLowerCase()) {
    const lowered = `${host}/${repository.toLowerCase()}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
    throw fail('repository names must be lower-case', `use ${lowered}`);
  }
  const bad = components.find((c) => !PATH_COMPONENT.test(c));
  if (bad !== undefined) {
    throw fail(`the path component "${bad}" is not allowed`, 'use lower-case letters and digits, separated by ".", "_", "__" or "-" (not at either end)');
  }
  const path = registry === DOCKER_HUB && components.length === 1 ? `library/${repository}` : repository;
  if (path.length > MAX_REPOSITORY_LENGTH) {
    throw fail(`the repository path is ${path.length} characters long, more than ${MAX_REPOSITORY_LENGTH}`, 'use a shorter repository name');
  }
  return { registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), original };
}

function checkTag(tag: string, fail: Fail): string {
  if (!tag) throw fail('nothing follows ":"', 'write a tag after the colon, or drop it');
  if (tag.length > 128) throw fail(`the tag is ${tag.length} characters long, more than 128`, 'use a shorter tag');
  if (!TAG.test(tag)) {
    throw fail(`the tag "${tag}" is not allowed`, 'tags are letters, digits, "_", "." and "-", and do not start with "." or "-"');
  }
  return tag;
}

/** Docker's rule: the first component is a host when it has a "." or ":" or is `localhost`. */
function looksLikeHost(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[');
}

function checkHost(host: string, original: string, fail: Fail): string {
  const ipv6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  const named = /^([^:]+)(?::(\d+))?$/.exec(host);
  const port = ipv6 ? ipv6[2] : named?.[2];
  const valid = ipv6 ? isIPv6(ipv6[1]) : !!named && HOST_NAME.test(named[1]);
  if (!valid) throw fail(`"${host}" is not a valid registry host`, 'write host[:port], e.g. ghcr.io, localhost:5000 or [::1]:5000');
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw fail(`the port ${port} of "${host}" is out of range`, 'use a port between 1 and 65535');
  }
  if (host !== host.toLowerCase()) {
    throw fail(`the registry host "${host}" has upper-case letters`, `write it in lower case: ${host.toLowerCase()}${original.slice(host.length)}`);
  }
  return host;
}

/** Keeps messages readable when someone pastes something long into `images`. */
function shown(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
