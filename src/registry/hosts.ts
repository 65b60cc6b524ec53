/**
 * Registry host names: which URL serves the API, and when plain HTTP is allowed
 * (only on this machine's loopback, so nothing travels unencrypted on a network).
 */
import { ActionError } from '../errors.js';

/** Names Docker Hub goes by; credentials stored under any of them apply to all. */
export const DOCKER_HUB_HOSTS = ['index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** The key Docker itself uses for Docker Hub in config files and credential helpers. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

export function isDockerHub(host: string): boolean {
  return DOCKER_HUB_HOSTS.includes(host.toLowerCase());
}

/** Host name without port or brackets, lower-cased: `[::1]:5000` → `::1`. */
export function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `localhost`, `127.0.0.0/8` and `::1`, with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = hostnameOf(host);
  if (name === 'localhost') return true;
  const v4 = IPV4_LOOPBACK.exec(name);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255);
  if (!name.includes(':')) return false;
  try {
    // The URL parser writes every spelling of ::1 (0:0:0:0:0:0:0:1, ::0001) the same way.
    return new URL(`http://[${name}]/`).hostname === '[::1]';
  } catch {
    return false;
  }
}

/**
 * `https://<host>` for the registry API, `http://` only for loopback hosts.
 * `docker.io` is served by `index.docker.io` (as go-containerregistry does).
 */
export function registryBaseUrl(registry: string): string {
  const host = registry.trim().toLowerCase() === 'docker.io' ? 'index.docker.io' : registry.trim();
  let parsed: URL | undefined;
  try {
    parsed = new URL(`https://${host}`);
  } catch {
    parsed = undefined;
  }
  if (!parsed?.hostname || parsed.username || parsed.password || parsed.pathname !== '/' || parsed.search || parsed.hash) {
    throw new ActionError(`"${registry}" is not a registry host name`, {
      fix: 'name the registry as host or host:port, e.g. ghcr.io or 127.0.0.1:5000, without a scheme or path',
    });
  }
  return `${isLoopbackHost(host) ? 'http' : 'https'}://${parsed.host}`;
}

/** True when `url` may carry plain HTTP: only towards loopback hosts. */
export function isAcceptableScheme(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.host));
}
