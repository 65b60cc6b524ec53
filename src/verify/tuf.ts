/**
 * Sigstore's TUF repository, through @sigstore/tuf: one client per run (one
 * metadata refresh), from which the trusted root and the signing config are read.
 *
 * For testing only, `SIGN_ACTION_TUF_MIRROR` (base URL) and `SIGN_ACTION_TUF_ROOT`
 * (path of that repository's initial root.json) point `sigstore: public-good` at
 * another TUF repository: the sandbox serves one, so the public-good path runs end
 * to end. These are environment variables, not inputs, on purpose: they are no
 * part of the contract (a real other instance is `sigstore: custom`), and both
 * must be given, so the repository is always checked against a root the caller
 * chose, never trusted on first use.
 */
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { ActionError } from '../errors.js';
import { isLoopbackHost } from '../registry/hosts.js';

export const TUF_MIRROR_ENV = 'SIGN_ACTION_TUF_MIRROR';
export const TUF_ROOT_ENV = 'SIGN_ACTION_TUF_ROOT';

export interface TufSource {
  /** Undefined: Sigstore's public-good repository, with the root @sigstore/tuf embeds. */
  mirrorUrl?: string;
  rootPath?: string;
}

/** Reads the testing override; throws (naming the variable) when it is half set or not a usable URL. */
export function tufSource(env: NodeJS.ProcessEnv): TufSource {
  const mirror = env[TUF_MIRROR_ENV]?.trim() ?? '';
  const root = env[TUF_ROOT_ENV]?.trim() ?? '';
  if (!mirror && !root) return {};
  if (!mirror || !root) {
    throw new ActionError(`${mirror ? TUF_ROOT_ENV : TUF_MIRROR_ENV} is not set while ${mirror ? TUF_MIRROR_ENV : TUF_ROOT_ENV} is`, {
      fix: `set both ${TUF_MIRROR_ENV} (the TUF repository's base URL) and ${TUF_ROOT_ENV} (its root.json), or neither: they are for testing against another TUF repository`,
    });
  }
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    throw new ActionError(`${TUF_MIRROR_ENV}="${mirror}" is not a URL`, { fix: `set ${TUF_MIRROR_ENV} to the TUF repository's base URL, or unset it` });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
    throw new ActionError(`${TUF_MIRROR_ENV} must be https (http only on loopback): ${mirror}`, { fix: `use https:// in ${TUF_MIRROR_ENV}, or unset it` });
  }
  return { mirrorUrl: url.href.replace(/\/+$/, ''), rootPath: path.resolve(root) };
}

export const isOverridden = (source: TufSource): boolean => source.mirrorUrl !== undefined;

/** What the messages call the repository. */
export const tufName = (source: TufSource): string =>
  source.mirrorUrl ? `the TUF repository at ${source.mirrorUrl} (${TUF_MIRROR_ENV})` : "Sigstore's public-good TUF repository";

/** What to do when the repository cannot be read. */
export const tufReachFix = (source: TufSource): string =>
  source.mirrorUrl ? `check ${TUF_MIRROR_ENV} and ${TUF_ROOT_ENV}` : 'allow the runner to reach tuf-repo-cdn.sigstore.dev (HTTPS)';

type Client = { getTarget(name: string): Promise<string> };
let client: { key: string; promise: Promise<Client> } | undefined;

/** Fetches one target of the repository as JSON (TUF checks its hash, length and signatures on the way). */
export async function fetchTufTarget(name: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const source = tufSource(env);
  const key = JSON.stringify(source);
  if (client?.key !== key) {
    if (source.mirrorUrl) core.warning(`Sigstore's TUF repository is replaced by ${source.mirrorUrl} (${TUF_MIRROR_ENV}, for testing): public-good trust and services come from there`);
    const cachePath = path.join(env.RUNNER_TEMP || os.tmpdir(), 'sign-action-tuf');
    const promise = import('@sigstore/tuf').then(({ initTUF }) =>
      initTUF({ cachePath, mirrorURL: source.mirrorUrl, rootPath: source.rootPath, retry: 3, timeout: 15_000 }),
    );
    // A failed refresh is not kept: the next caller tries again.
    promise.catch(() => {
      if (client?.promise === promise) client = undefined;
    });
    client = { key, promise };
  }
  const text = await (await client.promise).getTarget(name);
  return JSON.parse(text) as unknown;
}

/** True when the error is @sigstore/tuf's "target not found": the repository is fine, it just lacks it. */
export function isMissingTarget(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'TUF_FIND_TARGET_ERROR';
}

/** An error and its causes, one line: @sigstore/tuf puts the useful part in the cause. */
export function tufErrorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.includes(message)) parts.push(message);
  }
  return parts.join(': ') || 'unknown error';
}
