#!/usr/bin/env bash
# Cut a release of the action: scripts/release.sh X.Y.Z [--push]
#
# Checks, in order, and stops at the first that fails:
#   - the version is X.Y.Z (or X.Y.Z-pre), without a leading v
#   - we are on main, the tree is clean, and main is what origin/main is
#   - the tag vX.Y.Z does not exist yet
#   - CHANGELOG.md has a "## X.Y.Z" (or "## [X.Y.Z]") section
#   - dist/ is what `npm run build` makes from this commit (users run dist/, not src/)
# Then tags vX.Y.Z (annotated) and moves vX to it (not for pre-releases), and
# prints the push commands; with --push it runs them.
#
# Exit codes: 0 done, 1 a check failed, 2 wrong arguments.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/release.sh X.Y.Z [--push]

  X.Y.Z    the version, without a leading v (the tag will be vX.Y.Z), e.g. 1.2.3
           or a pre-release such as 1.3.0-rc.1 (which does not move the major tag)
  --push   push the tags to origin (otherwise only print the commands)
EOF
}

fail() { echo "release: $1" >&2; exit 1; }
bad_usage() { echo "release: $1" >&2; echo >&2; usage >&2; exit 2; }

# Prints nothing and succeeds for a valid version; otherwise prints why not.
check_version() {
  local version="$1"
  local number='(0|[1-9][0-9]*)'
  if [[ "$version" == [vV]* ]]; then
    echo "'$version' starts with 'v': give the version without it (scripts/release.sh ${version#[vV]}); the script adds the v to the tag."
    return 1
  fi
  if [[ ! "$version" =~ ^$number\.$number\.$number(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$ ]]; then
    echo "'$version' is not a version X.Y.Z (e.g. 1.2.3) or X.Y.Z-pre (e.g. 1.3.0-rc.1)."
    return 1
  fi
}

version=''
push=false
for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    --push) push=true ;;
    -*) bad_usage "unknown option '$arg'." ;;
    *)
      [ -z "$version" ] || bad_usage "one version only (got '$version' and '$arg')."
      version="$arg"
      ;;
  esac
done
[ -n "$version" ] || bad_usage "which version? e.g. scripts/release.sh 1.2.3"
if ! problem=$(check_version "$version"); then bad_usage "$problem"; fi

tag="v$version"
major_tag="v${version%%.*}"
prerelease=false
[[ "$version" == *-* ]] && prerelease=true

# Work in the repository this script belongs to, wherever it is called from.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
git rev-parse --git-dir >/dev/null 2>&1 || fail "$(pwd) is not a git repository."

branch=$(git symbolic-ref --quiet --short HEAD || echo '(detached HEAD)')
[ "$branch" = main ] || fail "releases are cut from main, but this is $branch: git switch main"

if [ -n "$(git status --porcelain)" ]; then
  git status --short >&2
  fail "the working tree is not clean (above): commit or stash first, so the tag names exactly what was tested."
fi

if git remote get-url origin >/dev/null 2>&1; then
  git fetch --quiet origin main || fail "could not fetch origin main: check the network and your access, then run again."
  [ "$(git rev-parse HEAD)" = "$(git rev-parse FETCH_HEAD)" ] ||
    fail "main is not origin/main (git status shows ahead/behind): push or pull first, so the tag is on a commit CI has checked."
  [ -z "$(git ls-remote --tags origin "refs/tags/v$version")" ] ||
    fail "origin already has the tag v$version. Versions are immutable: release the next one."
else
  echo "release: no remote 'origin'; skipping the comparison with origin/main." >&2
fi

if git rev-parse --quiet --verify "refs/tags/$tag" >/dev/null; then
  fail "the tag $tag already exists (on $(git rev-list -n 1 "$tag")). Versions are immutable: release the next one."
fi

escaped_version=${version//./\\.}
[ -f CHANGELOG.md ] || fail "there is no CHANGELOG.md."
grep -Eq "^## \[?$escaped_version\]?([[:space:]]|$)" CHANGELOG.md ||
  fail "CHANGELOG.md has no '## $version' section: move the Unreleased entries under '## [$version] - $(date -u +%F)' and commit."

echo "release: rebuilding dist/ to compare it with the committed one..." >&2
npm run build --silent >&2 || fail "'npm run build' failed (above): fix the build first."
if [ -n "$(git status --porcelain -- dist/)" ]; then
  git status --short -- dist/ >&2
  fail "dist/ was not up to date with src/ (rebuilt files above): review and commit dist/, then run again."
fi

git tag -a "$tag" -m "$tag"
echo "Tagged $tag on $(git rev-parse --short HEAD)."
if [ "$prerelease" = true ]; then
  echo "$tag is a pre-release: $major_tag stays where it is."
  push_commands=("git push origin refs/tags/$tag")
else
  # Lightweight and moved on purpose, like actions/checkout's v7: users of
  # @$major_tag get this release.
  git tag -f "$major_tag" "$tag^{commit}" >/dev/null
  echo "Moved $major_tag to $tag."
  push_commands=("git push origin refs/tags/$tag" "git push --force origin refs/tags/$major_tag")
fi

if [ "$push" = true ]; then
  git push origin "refs/tags/$tag"
  [ "$prerelease" = true ] || git push --force origin "refs/tags/$major_tag"
  echo "Pushed."
else
  echo
  echo "Nothing pushed. To publish:"
  printf '  %s\n' "${push_commands[@]}"
fi
