#!/usr/bin/env bash
# Builds the real verifiers the interop tests run, from their Go modules at exact
# versions, into a cache outside the clone, and prints each one's version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/sign-action/tools/<tool>-<version>/<binary>
# A tool already in the cache is reused. cosign (2 and 3) is required; another
# tool that fails to build is reported and skipped, unless REQUIRE_ALL_VERIFIERS=1
# (CI), where every tool must build. Without Go it says so and exits 0 unless CI.
# Usage: scripts/ensure-verifiers.sh [tool…]   (default: all)
set -uo pipefail

# tool  version  module  package-in-module  binary  required
# policy-controller and Kyverno keep `replace` directives in their go.mod, which
# `go install module@version` refuses; those are built inside the downloaded
# module (as their own Makefiles do), so their go.mod stays in charge.
# Some newest releases need pseudo-versions the module proxy does not serve: gh
# v2.105.0 (charm.land/glamour) and policy-controller v0.15.1 (ggcr k8schain), so
# gh v2.100.0 and policy-controller v0.14.0 are the newest that build from it.
TOOLS=(
  "cosign-v2     v2.6.5    github.com/sigstore/cosign/v2          ./cmd/cosign                cosign          required"
  "cosign-v3     v3.1.3    github.com/sigstore/cosign/v3          ./cmd/cosign                cosign          required"
  "policy-tester v0.14.0   github.com/sigstore/policy-controller  ./cmd/tester                tester          optional"
  "kyverno       v1.19.1   github.com/kyverno/kyverno             ./cmd/cli/kubectl-kyverno   kubectl-kyverno optional"
  "gh            v2.100.0  github.com/cli/cli/v2                  ./cmd/gh                    gh              optional"
)

cache="${XDG_CACHE_HOME:-$HOME/.cache}/sign-action/tools"
strict="${REQUIRE_ALL_VERIFIERS:-}"
[ "${CI:-}" = "true" ] && strict="${REQUIRE_ALL_VERIFIERS:-1}"
wanted=("$@")

if ! command -v go >/dev/null 2>&1; then
  echo "ensure-verifiers: Go is not installed, so cosign, policy-tester, kyverno and gh cannot be built;" \
    "the interop tests will skip. Install Go 1.26+ to run them." >&2
  [ -n "$strict" ] && exit 1
  exit 0
fi

# build MODULE VERSION PACKAGE OUT: `go install MODULE/PACKAGE@VERSION` when the
# module allows it, else `go build` inside a copy of the downloaded module.
build() {
  local module="$1" version="$2" package="$3" out="$4" src work
  mkdir -p "$(dirname "$out")"
  # CGO off: static binaries, no C toolchain needed.
  export CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
  if GOBIN="$(dirname "$out")" go install -trimpath "$module/${package#./}@$version"; then return 0; fi
  echo "go install refused; building inside the module instead"
  src="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
  [ -d "$src" ] || { echo "go mod download $module@$version gave no source folder"; return 1; }
  work="$(mktemp -d)"
  cp -r "$src/." "$work/" && chmod -R u+w "$work"
  (cd "$work" && go build -trimpath -o "$out" "$package")
  local rc=$?
  rm -rf "$work"
  return $rc
}

mkdir -p "$cache"
failed_required=0
failed_optional=()
for row in "${TOOLS[@]}"; do
  read -r tool version module package binary need <<<"$row"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " =~ " ${tool} " ]]; then continue; fi
  dir="$cache/$tool-$version"
  bin="$dir/$binary"
  # One build of a tool at a time (parallel test files, a second terminal): wait for it.
  exec 9>"$cache/$tool.lock"
  command -v flock >/dev/null 2>&1 && flock 9
  if [ ! -x "$bin" ]; then
    echo "building $tool $version from $module (first time; later runs reuse $dir)…" >&2
    log="$cache/$tool-$version.build.log"
    start=$(date +%s)
    if build "$module" "$version" "$package" "$dir.tmp/$binary" >"$log" 2>&1; then
      rm -rf "$dir" && mv "$dir.tmp" "$dir"
      echo "built $tool $version in $(( $(date +%s) - start )) s" >&2
    else
      rm -rf "$dir.tmp"
      echo "ensure-verifiers: building $tool ($module@$version) failed after $(( $(date +%s) - start )) s:" >&2
      tail -n 20 "$log" | sed 's/^/  /' >&2
      if [ "$need" = required ]; then failed_required=1; else failed_optional+=("$tool"); fi
      exec 9>&-
      continue
    fi
  fi
  case "$tool" in
    cosign-*) v="$("$bin" version 2>&1 | awk '/^GitVersion/ {print $2}')" ;;
    policy-tester) v="$version (the module's version: the binary prints none)" ;;
    kyverno) v="$version (the module's version: built outside a release, the binary says $("$bin" version 2>&1 | awk '/^Version/ {print $2}'))" ;;
    gh) v="$("$bin" --version 2>&1 | head -n1)" ;;
  esac
  echo "$tool: ${v:-$version}  $bin"
  exec 9>&-
done

if [ "$failed_required" = 1 ]; then
  echo "ensure-verifiers: cosign could not be built; the interop suite needs it." >&2
  exit 1
fi
if [ ${#failed_optional[@]} -gt 0 ]; then
  echo "ensure-verifiers: not built: ${failed_optional[*]} (their interop tests skip, saying so)." >&2
  [ -n "$strict" ] && exit 1
fi
exit 0
