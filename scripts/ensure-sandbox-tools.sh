#!/usr/bin/env bash
# The sandbox needs Debian's docker-registry (the CNCF distribution server) and
# htpasswd (apache2-utils). On a fresh machine where we are root with apt, install
# them; otherwise say exactly what to install. Used by `npm test`, `npm run demo`,
# `npm run bench` and .ci/run, so each works on a fresh machine by itself.
set -euo pipefail
[ -n "${SANDBOX_REGISTRY:-}" ] && command -v htpasswd >/dev/null 2>&1 && exit 0
missing=()
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} for the sandbox (apt-get)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # The package starts a registry on :5000 on every interface; the sandbox runs its own.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop docker-registry >/dev/null 2>&1 || true; fi
  exit 0
fi
echo "The sandbox needs ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}'" \
  "(or set SANDBOX_REGISTRY=host:port to use a registry you run, with htpasswd installed)." >&2
exit 1
