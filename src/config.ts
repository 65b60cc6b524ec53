/**
 * The action's inputs and the runner's environment → one typed Config.
 * Everything is checked here, before anything is sent anywhere: a wrong input,
 * a missing id-token permission or a private repository about to be published
 * in the public transparency log all fail the step with the input named and a fix.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { checkTrustedRoot, endpoint, missingEndpoint, timestampEndpoint, urlsFromTrustedRoot } from './config-endpoints.js';
import { parseAttestInputs } from './config-attest.js';
import { parseImageInputs } from './config-images.js';
import type { Config, IdentityPolicy, SigstoreInstance } from './config-types.js';
import { ActionError } from './errors.js';
import { parsePredicateType, type PredicateTypeChoice } from './verify/attestation-types.js';

/** Returns an input's value, '' when unset (e.g. `(name) => core.getInput(name)`). */
export type InputReader = (name: string) => string;

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
export const PUBLIC_GOOD_FULCIO = 'https://fulcio.sigstore.dev';
export const PUBLIC_GOOD_REKOR = 'https://rekor.sigstore.dev';
const CUSTOM_ONLY_INPUTS = ['fulcio-url', 'rekor-url', 'tsa-url', 'trusted-root'] as const;

type Read = (name: string) => string;
type Runner = Config['runner'];

export function parseConfig(inputs: InputReader, env: NodeJS.ProcessEnv): Config {
  const read: Read = (name) => (inputs(name) ?? '').trim();
  // Values that must never reach a log, even if pasted into the wrong input.
  const secrets = [read('registry-password'), read('github-token'), env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? ''];
  try {
    return buildConfig(read, env);
  } catch (e) {
    throw e instanceof ActionError ? redact(e, secrets) : e;
  }
}

function buildConfig(read: Read, env: NodeJS.ProcessEnv): Config {
  const mode = oneOf(read, 'mode', ['sign', 'verify'] as const, 'sign');
  const images = parseImageInputs(read);
  const verify = bool(read, 'verify', true);
  const ifSigned = oneOf(read, 'if-signed', ['append', 'skip'] as const, 'append');
  const runner = runnerFrom(env);
  // `if-signed: skip` verifies what is there already: it needs the trusted root even without `verify`.
  const sigstore = sigstoreInstance(read, mode, mode === 'verify' || verify || ifSigned === 'skip');
  const allowPublicLog = bool(read, 'allow-public-log', false);
  const registryUsername = read('registry-username');
  const registryPassword = read('registry-password');
  if (!!registryUsername !== !!registryPassword) {
    const missing = registryUsername ? 'registry-password' : 'registry-username';
    throw new ActionError(`${missing} is empty while ${registryUsername ? 'registry-username' : 'registry-password'} is set`, {
      input: missing,
      fix: 'set both registry-username and registry-password, or neither (docker/login-action credentials are then used)',
    });
  }
  const config: Config = {
    mode,
    images,
    recursive: oneOf(read, 'recursive', ['none', 'platforms', 'all'] as const, 'none'),
    signatureFormat: oneOf(read, 'signature-format', ['legacy', 'bundle', 'both'] as const, 'legacy'),
    annotations: parseAnnotations(read('annotations')),
    verify,
    ifSigned,
    audit: bool(read, 'audit', false),
    sigstore,
    allowPublicLog,
    summary: bool(read, 'summary', true),
    runner,
  };
  if (bool(read, 'rekor-v2', false)) config.sigstore.rekorV2 = checkRekorV2(config);
  if (mode === 'verify') config.identity = identityPolicy(read, runner);
  else config.attest = parseAttestInputs(read, sigstore);
  if (registryUsername) config.registryCredentials = { username: registryUsername, password: registryPassword };
  if (read('github-token')) config.githubToken = read('github-token');
  const verifyAttestation = mode === 'verify' ? verifyPredicateType(read) : undefined;
  if (verifyAttestation) config.verifyAttestation = verifyAttestation;
  if (mode === 'sign') checkSigningAllowed(config);
  return config;
}

/**
 * `rekor-v2: true` (public-good only): Rekor v2 gives no signed entry timestamp,
 * which a legacy `.sig` signature carries as its proof of time, so bundles only.
 */
function checkRekorV2(config: Config): true {
  if (config.sigstore.kind !== 'public-good') {
    throw new ActionError('rekor-v2 chooses the Rekor v2 log of the public Sigstore instance, but sigstore is custom', {
      input: 'rekor-v2',
      fix: 'remove rekor-v2: with sigstore: custom, `rekor-url` may point at a Rekor v2 log directly (it is detected)',
    });
  }
  if (config.mode === 'sign' && config.signatureFormat !== 'bundle') {
    throw new ActionError(`Rekor v2 records no signed entry timestamp, which ${config.signatureFormat === 'both' ? 'the legacy half of `both`' : 'legacy .sig signatures'} need`, {
      input: 'rekor-v2',
      fix: 'set `signature-format: bundle` to log in Rekor v2 (read by cosign 3, Kyverno SigstoreBundle, gh attestation verify), or remove rekor-v2',
    });
  }
  return true;
}

/** Guards that only matter when we are about to sign, checked last so input mistakes are reported first. */
function checkSigningAllowed(config: Config): void {
  assertPublicLogAllowed(config, config.runner.visibility);
  if (!config.runner.idTokenUrl || !config.runner.idTokenRequestToken) {
    throw new ActionError('missing the id-token permission: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set, so no OIDC token can be requested', {
      fix: 'add `permissions: id-token: write` to the job (for a pull request from a fork, GitHub does not issue the token)',
    });
  }
}

/**
 * The privacy guard: a private or internal repository may not be published in
 * the public log unless the user says so. Called with the event's visibility
 * here, and again with the OIDC token's `repository_visibility` claim before
 * Fulcio is asked (events such as `schedule` do not say).
 */
export function assertPublicLogAllowed(config: Pick<Config, 'sigstore' | 'allowPublicLog'>, visibility: string | undefined): void {
  if (config.sigstore.kind === 'public-good' && (visibility === 'private' || visibility === 'internal') && !config.allowPublicLog) {
    throw new ActionError(
      `this repository is ${visibility}, and signing with the public Sigstore instance publishes the repository name, ` +
        'workflow path and ref in the public transparency log (Rekor), forever; nothing has been sent',
      { input: 'allow-public-log', fix: 'set `allow-public-log: true` if that is acceptable, or `sigstore: custom` to use your own instance' },
    );
  }
}

function identityPolicy(read: Read, runner: Runner): IdentityPolicy {
  const exact = read('certificate-identity');
  const regexp = read('certificate-identity-regexp');
  const issuer = read('certificate-oidc-issuer') || GITHUB_ACTIONS_ISSUER;
  if (exact && regexp) {
    throw new ActionError('both certificate-identity and certificate-identity-regexp are set', {
      input: 'certificate-identity-regexp',
      fix: 'keep one: certificate-identity for one exact identity, or certificate-identity-regexp for a pattern',
    });
  }
  if (!exact && !regexp) {
    const repo = runner.repository ?? '<owner>/<repo>';
    throw new ActionError('verify mode needs the identity the signatures must have', {
      input: 'certificate-identity',
      fix: `set certificate-identity: ${runner.serverUrl}/${repo}/.github/workflows/<workflow>.yml@refs/heads/main (or certificate-identity-regexp)`,
    });
  }
  if (exact) return { exact, issuer };
  try {
    new RegExp(regexp);
  } catch (e) {
    throw new ActionError(`the regular expression does not compile: ${(e as Error).message}`, {
      input: 'certificate-identity-regexp',
      fix: 'fix the pattern (JavaScript syntax; it must match the whole identity), or use certificate-identity for an exact match',
    });
  }
  return { regexp, issuer };
}

/** Verify mode's `predicate-type`: a URI or a cosign short name; unset means signatures are verified. */
function verifyPredicateType(read: Read): PredicateTypeChoice | undefined {
  const raw = read('predicate-type');
  if (!raw) return undefined;
  const parsed = parsePredicateType(raw);
  if ('error' in parsed) {
    throw new ActionError(parsed.error, {
      input: 'predicate-type',
      fix: 'give the predicate type URI (e.g. https://slsa.dev/provenance/v1) or a cosign short name: slsaprovenance1, slsaprovenance02, spdxjson, cyclonedx, openvex, vuln, link, custom',
    });
  }
  return parsed;
}

function sigstoreInstance(read: Read, mode: Config['mode'], willVerify: boolean): SigstoreInstance {
  const kind = oneOf(read, 'sigstore', ['public-good', 'custom'] as const, 'public-good');
  if (kind === 'public-good') {
    const stray = CUSTOM_ONLY_INPUTS.find((name) => read(name));
    if (stray) {
      throw new ActionError(`${stray} is set, but sigstore is public-good, whose endpoints and trust are fixed`, {
        input: stray,
        fix: `set sigstore: custom to use your own instance, or remove ${stray}`,
      });
    }
    return { kind, fulcioUrl: PUBLIC_GOOD_FULCIO, rekorUrl: PUBLIC_GOOD_REKOR };
  }
  const trustedRoot = read('trusted-root') ? checkTrustedRoot(read('trusted-root')) : undefined;
  if (!trustedRoot && willVerify) {
    throw new ActionError('a custom instance needs its trusted root to verify signatures', {
      input: 'trusted-root',
      fix: 'set trusted-root to the path of your instance\'s trusted_root.json (or, to sign without checking anything, verify: false and if-signed: append)',
    });
  }
  // Verify mode contacts neither Fulcio nor Rekor: their URLs only name the instance in the
  // printed commands and policies, and the trusted root already names them.
  const named = mode === 'verify' && trustedRoot ? urlsFromTrustedRoot(trustedRoot.json) : {};
  const url = (name: 'fulcio-url' | 'rekor-url', fromRoot: string | undefined): string =>
    endpoint(read, name) ?? fromRoot ?? missingEndpoint(name, mode, trustedRoot?.path);
  const instance: SigstoreInstance = { kind, fulcioUrl: url('fulcio-url', named.fulcioUrl), rekorUrl: url('rekor-url', named.rekorUrl) };
  if (!endpoint(read, 'rekor-url') && named.rekorUrl) instance.rekorUrlFromTrustedRoot = true;
  const tsaUrl = endpoint(read, 'tsa-url');
  // Normalised once, here: the client and everything printed use the same endpoint.
  if (tsaUrl) instance.tsaUrl = timestampEndpoint(tsaUrl);
  if (trustedRoot) instance.trustedRootPath = trustedRoot.path;
  return instance;
}

/** `key=value` lines (not commas: values may contain them), split at the first `=`; keys sorted. */
export function parseAnnotations(text: string): Record<string, string> {
  const pairs = new Map<string, string>();
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    if (eq < 0 || !key) {
      throw new ActionError(`"${line}" is not key=value`, { input: 'annotations', fix: 'write one key=value per line, e.g. team=platform' });
    }
    if (pairs.has(key)) throw new ActionError(`the key "${key}" is given twice`, { input: 'annotations', fix: `keep one ${key}= line` });
    pairs.set(key, line.slice(eq + 1).trim());
  }
  return Object.fromEntries([...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function runnerFrom(env: NodeJS.ProcessEnv): Runner {
  const runner: Runner = {
    temp: env.RUNNER_TEMP || os.tmpdir(),
    serverUrl: (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, ''),
  };
  if (env.GITHUB_REPOSITORY) runner.repository = env.GITHUB_REPOSITORY;
  const visibility = repositoryVisibility(env.GITHUB_EVENT_PATH);
  if (visibility) runner.visibility = visibility;
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL) runner.idTokenUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  if (env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) runner.idTokenRequestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  return runner;
}

/** From the event payload; undefined when there is none or it does not say (e.g. a `schedule` event). */
function repositoryVisibility(eventPath: string | undefined): Runner['visibility'] {
  if (!eventPath) return undefined;
  let event: { repository?: { visibility?: unknown; private?: unknown } } | null;
  try {
    event = JSON.parse(readFileSync(eventPath, 'utf8'));
  } catch {
    return undefined;
  }
  const repo = event?.repository;
  if (repo?.visibility === 'public' || repo?.visibility === 'private' || repo?.visibility === 'internal') return repo.visibility;
  if (typeof repo?.private === 'boolean') return repo.private ? 'private' : 'public';
  return undefined;
}

function oneOf<T extends string>(read: Read, name: string, values: readonly T[], fallback: T): T {
  const raw = read(name);
  if (!raw) return fallback;
  const value = values.find((v) => v === raw.toLowerCase());
  if (value) return value;
  throw new ActionError(`"${raw}" is not an accepted value`, { input: name, fix: `set ${name} to one of: ${values.join(', ')}` });
}

/** Like core.getBooleanInput: true/false in any case; empty takes the default. */
function bool(read: Read, name: string, fallback: boolean): boolean {
  const raw = read(name);
  if (!raw) return fallback;
  if (raw.toLowerCase() === 'true') return true;
  if (raw.toLowerCase() === 'false') return false;
  throw new ActionError(`"${raw}" is not a boolean`, { input: name, fix: `set ${name} to true or false` });
}

/** A copy of the error with every secret value replaced by ***. */
function redact(error: ActionError, secrets: string[]): ActionError {
  const present = secrets.filter((s) => s.length > 0 && error.message.includes(s));
  if (present.length === 0) return error;
  const scrub = (text?: string) => present.reduce((t, s) => t?.replaceAll(s, '***'), text);
  const clean = new ActionError(scrub(error.message) ?? '');
  return Object.assign(clean, { image: scrub(error.image), input: error.input, fix: scrub(error.fix) });
}
