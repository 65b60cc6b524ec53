/**
 * The public-good services to sign with, from Sigstore's signing config.
 *
 * The config is kept in the runner's tool cache like the trusted root (one copy
 * per UTC day; see trust.ts). When it cannot be had:
 * - the plain config (`signing_config.v0.2.json`): an older cached copy, else the
 *   services this action has always used (fulcio.sigstore.dev, rekor.sigstore.dev),
 *   with a warning saying why and what to do. Signing still works the day the
 *   TUF CDN is unreachable, or for a repository that has no signing config;
 * - the Rekor v2 opt-in (`signing_config_rekor_v2.v0.2.json`): an older cached
 *   copy, else the step fails. Rekor v2 has no well-known URL (its logs are
 *   shards that come and go); guessing one, or quietly signing with Rekor v1
 *   instead of what was asked for, would both be wrong.
 * A config that is there but names no service this action can use fails the
 * step: Sigstore says the old services are not to be used, so none is guessed.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import * as tc from '@actions/tool-cache';
import { PUBLIC_GOOD_FULCIO, PUBLIC_GOOD_REKOR } from '../config.js';
import { ActionError } from '../errors.js';
import { parseSigningConfig, servicesFrom, SIGNING_CONFIG_REKOR_V2_TARGET, SIGNING_CONFIG_TARGET, type SigningServices } from './signing-config.js';
import { cacheVersion, type ToolCache } from './trust.js';
import { fetchTufTarget, isMissingTarget, isOverridden, tufErrorText, tufName, tufReachFix, tufSource, type TufSource } from './tuf.js';

export interface PublicServicesDeps {
  source: TufSource;
  fetchTarget: (name: string) => Promise<unknown>;
  /** Undefined when the runner has no tool cache: always fetch. */
  cache?: ToolCache;
  now: () => Date;
  warn: (message: string) => void;
  random?: () => number;
}

const toolFor = (rekorV2: boolean): string => (rekorV2 ? 'sigstore-signing-config-rekor-v2' : 'sigstore-signing-config');
const FILE_NAME = 'signing_config.json';

async function readCached(cache: ToolCache, tool: string, version: string): Promise<unknown> {
  const dir = cache.find(tool, version);
  if (!dir) return undefined;
  try {
    const json: unknown = JSON.parse(await fs.readFile(path.join(dir, FILE_NAME), 'utf8'));
    parseSigningConfig(json);
    return json;
  } catch {
    return undefined; // a damaged entry is as good as none
  }
}

async function store(cache: ToolCache, tool: string, version: string, json: unknown): Promise<void> {
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'sigstore-signing-config-'));
  try {
    await fs.writeFile(path.join(staging, FILE_NAME), JSON.stringify(json));
    await cache.cacheDir(staging, tool, version);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** The signing config JSON: today's cached copy, the TUF repository, or an older cached copy (with a warning). */
async function signingConfigJson(rekorV2: boolean, deps: PublicServicesDeps): Promise<{ json: unknown } | { error: unknown }> {
  const tool = toolFor(rekorV2);
  const target = rekorV2 ? SIGNING_CONFIG_REKOR_V2_TARGET : SIGNING_CONFIG_TARGET;
  const today = cacheVersion(deps.now());
  const cached = deps.cache && (await readCached(deps.cache, tool, today));
  if (cached) return { json: cached };
  let error: unknown;
  try {
    const json = await deps.fetchTarget(target);
    parseSigningConfig(json);
    if (deps.cache) await store(deps.cache, tool, today, json).catch((err) => deps.warn(`could not cache Sigstore's signing config: ${tufErrorText(err)}`));
    return { json };
  } catch (err) {
    error = err;
  }
  const older = (deps.cache?.findAllVersions(tool) ?? []).sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]));
  for (const version of older) {
    const json = await readCached(deps.cache!, tool, version);
    if (json) {
      deps.warn(`could not get ${target} from ${tufName(deps.source)} (${why(error, target)}); using the copy cached on this runner (${version})`);
      return { json };
    }
  }
  return { error };
}

function why(err: unknown, target: string): string {
  return isMissingTarget(err) ? `the repository has no ${target} target` : tufErrorText(err);
}

/**
 * The public-good services. `rekorV2`: the opt-in (bundles only): Rekor v2 and the
 * timestamp authority from `signing_config_rekor_v2.v0.2.json`.
 */
export async function publicGoodServices(rekorV2: boolean, deps: PublicServicesDeps): Promise<SigningServices> {
  const target = rekorV2 ? SIGNING_CONFIG_REKOR_V2_TARGET : SIGNING_CONFIG_TARGET;
  const got = await signingConfigJson(rekorV2, deps);
  if ('error' in got) {
    const reason = why(got.error, target);
    if (rekorV2) {
      throw new ActionError(`could not get Sigstore's Rekor v2 signing config (${target}) from ${tufName(deps.source)}: ${reason}`, {
        input: 'rekor-v2',
        fix: isMissingTarget(got.error)
          ? 'remove `rekor-v2` to sign with Rekor v1 (this TUF repository offers no Rekor v2 log)'
          : `${tufReachFix(deps.source)}, or remove \`rekor-v2\` to sign with Rekor v1`,
        cause: got.error,
      });
    }
    deps.warn(
      `could not get Sigstore's signing config (${target}) from ${tufName(deps.source)}: ${reason}. ` +
        `Signing with ${PUBLIC_GOOD_FULCIO} and ${PUBLIC_GOOD_REKOR}, the public-good services known to this version; ` +
        `if Sigstore has moved them, signing fails. To follow Sigstore's current services, ${tufReachFix(deps.source)}`,
    );
    return { fulcioUrl: PUBLIC_GOOD_FULCIO, rekorUrl: PUBLIC_GOOD_REKOR, rekorMajor: 1, notes: [] };
  }
  let services: SigningServices;
  try {
    services = servicesFrom(parseSigningConfig(got.json), rekorV2 ? [2, 1] : [1], deps.now(), deps.random);
  } catch (err) {
    throw new ActionError(`cannot sign with Sigstore's signing config (${target}): ${(err as Error).message}`, {
      input: rekorV2 ? 'rekor-v2' : undefined,
      fix: 'update sign-action: this version cannot use the services Sigstore now lists (or use `sigstore: custom`)',
      cause: err,
    });
  }
  if (rekorV2 && services.rekorMajor !== 2) {
    services.notes.push(`${target} lists no Rekor v2 log valid now: signing with the Rekor v1 log ${services.rekorUrl}`);
  }
  if (services.rekorMajor === 2 && !services.tsaUrl) {
    throw new ActionError(`Sigstore's signing config (${target}) lists a Rekor v2 log but no timestamp authority valid now, and Rekor v2 records no signing time`, {
      input: 'rekor-v2',
      fix: 'remove `rekor-v2` to sign with Rekor v1 until Sigstore lists a timestamp authority again',
    });
  }
  return services;
}

/** The production dependencies: @sigstore/tuf and the runner's tool cache (not for a test repository: it must not stand in for Sigstore's). */
export function defaultPublicServicesDeps(env: NodeJS.ProcessEnv = process.env): PublicServicesDeps {
  const source = tufSource(env);
  return {
    source,
    fetchTarget: (name) => fetchTufTarget(name, env),
    cache: env.RUNNER_TOOL_CACHE && !isOverridden(source) ? { find: tc.find, findAllVersions: tc.findAllVersions, cacheDir: tc.cacheDir } : undefined,
    now: () => new Date(),
    warn: (message) => core.warning(message),
  };
}
