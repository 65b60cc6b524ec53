/**
 * Trust material: the custom instance's trusted_root.json, or the public-good
 * root from Sigstore's TUF repository.
 *
 * The public-good root (read through tuf.ts, which a test may point at another
 * TUF repository) is kept in the runner's tool cache (@actions/tool-cache,
 * tool `sigstore-trusted-root`, one version per UTC day), so repeat runs on one
 * runner that day do not fetch it again, and a runner that cannot reach the TUF
 * repository falls back to the newest copy it has, with a warning. A stale root
 * can only lack keys added since (verification fails closed); keys Sigstore
 * retires keep their validity window, so old signatures still verify.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import * as tc from '@actions/tool-cache';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { ActionError } from '../errors.js';
import type { SigstoreInstance } from '../config-types.js';
import { fetchTufTarget, isOverridden, tufSource } from './tuf.js';

export interface Trust {
  root: TrustedRoot;
  material: TrustMaterial;
  /** Where it came from, for the log: a path, or the TUF repository (and the cached day). */
  source: string;
}

export const TRUSTED_ROOT_TOOL = 'sigstore-trusted-root';
const FILE_NAME = 'trusted_root.json';
/** Bump when what is stored changes shape, so old cache entries are not read as new ones. */
const CACHE_FORMAT = 1;

/** The tool-cache functions used (injectable for tests). */
export interface ToolCache {
  find(tool: string, version: string): string;
  findAllVersions(tool: string): string[];
  cacheDir(sourceDir: string, tool: string, version: string): Promise<string>;
}

export interface PublicGoodDeps {
  /** Fetches the current trusted_root.json (JSON) from Sigstore's TUF repository. */
  fetchTrustedRoot: () => Promise<unknown>;
  /** Undefined when the runner has no tool cache (RUNNER_TOOL_CACHE unset): always fetch. */
  cache?: ToolCache;
  now: () => Date;
  warn: (message: string) => void;
}

/** `1.0.20260821`: a semver the tool cache accepts, one per UTC day. */
export function cacheVersion(day: Date): string {
  return `${CACHE_FORMAT}.0.${day.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

function dayOf(version: string): string {
  const d = version.split('.')[2] ?? '';
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
}

/** Parses and checks a trusted root before it is used or cached: junk must fail here, not later. */
export function trustFromJson(json: unknown, source: string): Trust {
  const root = TrustedRoot.fromJSON(json);
  if (!root.certificateAuthorities.length || !root.tlogs.length) {
    throw new Error('it lists no certificate authority or no transparency log');
  }
  return { root, material: toTrustMaterial(root), source };
}

async function readCached(dir: string, source: string): Promise<Trust> {
  return trustFromJson(JSON.parse(await fs.readFile(path.join(dir, FILE_NAME), 'utf8')), source);
}

async function store(cache: ToolCache, json: unknown, version: string): Promise<void> {
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'sigstore-trusted-root-'));
  try {
    await fs.writeFile(path.join(staging, FILE_NAME), JSON.stringify(json));
    await cache.cacheDir(staging, TRUSTED_ROOT_TOOL, version);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Newest cached version first (the day is the patch number). */
function newestFirst(versions: string[]): string[] {
  return versions.filter((v) => v.startsWith(`${CACHE_FORMAT}.0.`)).sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]));
}

export async function loadPublicGoodTrust(deps: PublicGoodDeps): Promise<Trust> {
  const version = cacheVersion(deps.now());
  const today = deps.cache?.find(TRUSTED_ROOT_TOOL, version);
  if (today) {
    try {
      return await readCached(today, `Sigstore public-good TUF repository (cached on this runner, ${dayOf(version)})`);
    } catch {
      // A damaged cache entry is fetched again below.
    }
  }
  let fetchError: unknown;
  try {
    const json = await deps.fetchTrustedRoot();
    const trust = trustFromJson(json, 'Sigstore public-good TUF repository');
    if (deps.cache) await store(deps.cache, json, version).catch((err) => deps.warn(`could not cache the Sigstore trusted root: ${(err as Error).message}`));
    return trust;
  } catch (err) {
    fetchError = err;
  }
  for (const older of newestFirst(deps.cache?.findAllVersions(TRUSTED_ROOT_TOOL) ?? [])) {
    const dir = deps.cache!.find(TRUSTED_ROOT_TOOL, older);
    if (!dir) continue;
    try {
      const trust = await readCached(dir, `Sigstore public-good TUF repository (cached on this runner, ${dayOf(older)})`);
      deps.warn(
        `could not get the Sigstore public-good trusted root (${(fetchError as Error).message}); using the copy cached on this runner on ${dayOf(older)}`,
      );
      return trust;
    } catch {
      continue;
    }
  }
  throw new ActionError(`could not get the Sigstore public-good trusted root: ${(fetchError as Error)?.message ?? String(fetchError)}`, {
    fix: 'allow the runner to reach tuf-repo-cdn.sigstore.dev (HTTPS); no copy is cached on this runner yet',
    cause: fetchError,
  });
}

/** The production dependencies: @sigstore/tuf and the runner's tool cache. */
export function defaultPublicGoodDeps(): PublicGoodDeps {
  // A test repository (SIGN_ACTION_TUF_MIRROR) must not stand in for Sigstore's in the tool cache.
  const overridden = isOverridden(tufSource(process.env));
  return {
    fetchTrustedRoot: () => fetchTufTarget('trusted_root.json'),
    cache: process.env.RUNNER_TOOL_CACHE && !overridden ? { find: tc.find, findAllVersions: tc.findAllVersions, cacheDir: tc.cacheDir } : undefined,
    now: () => new Date(),
    warn: (message) => core.warning(message),
  };
}

async function loadCustomTrust(trustedRootPath: string | undefined): Promise<Trust> {
  if (!trustedRootPath) {
    throw new ActionError('verifying needs the trusted root of the custom Sigstore instance', {
      input: 'trusted-root',
      fix: 'set `trusted-root` to the path of its trusted_root.json',
    });
  }
  try {
    return trustFromJson(JSON.parse(await fs.readFile(trustedRootPath, 'utf8')), trustedRootPath);
  } catch (err) {
    throw new ActionError(`cannot use ${trustedRootPath} as a trusted root: ${(err as Error).message}`, {
      input: 'trusted-root',
      fix: 'point `trusted-root` at the trusted_root.json of your Sigstore instance',
    });
  }
}

export async function loadTrust(instance: SigstoreInstance, deps: () => PublicGoodDeps = defaultPublicGoodDeps): Promise<Trust> {
  return instance.kind === 'custom' ? loadCustomTrust(instance.trustedRootPath) : loadPublicGoodTrust(deps());
}
