#!/usr/bin/env bash
# Installs kudu-doctor for the GitHub Action (action.yml): the prebuilt binary of a release of
# this repository for the runner's OS and architecture, checked against the release's SHA256SUMS.
# A checksum that does not match refuses the install (exit 1, nothing installed). Only when no
# release is reachable (or none is built for this platform) does it build from the action's own
# source with `cargo install --locked`.
#
# Environment:
#   KUDU_DOCTOR_RELEASE_URL  where the release's files are (default: this repository's release
#                            for KUDU_DOCTOR_VERSION on github.com; file:// works, for tests)
#   KUDU_DOCTOR_REPOSITORY   owner/name (default: $GITHUB_ACTION_REPOSITORY)
#   KUDU_DOCTOR_VERSION      a release tag such as v1.2.0, or latest (default)
#   KUDU_DOCTOR_INSTALL_DIR  where the binary goes (default: $RUNNER_TEMP/kudu-doctor/bin)
#   KUDU_DOCTOR_SOURCE       the source for the fallback (default: this script's repository)
#   KUDU_DOCTOR_CARGO        the cargo to run for the fallback (default: cargo)
#   GITHUB_PATH              the install folder is appended to it, as GitHub Actions expects
set -euo pipefail

say() { printf 'kudu-doctor install: %s\n' "$*" >&2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${KUDU_DOCTOR_VERSION:-latest}"
repository="${KUDU_DOCTOR_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}"
install_dir="${KUDU_DOCTOR_INSTALL_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/kudu-doctor/bin}"
source_dir="${KUDU_DOCTOR_SOURCE:-$here/..}"
cargo="${KUDU_DOCTOR_CARGO:-cargo}"

# The release target for this machine; empty when no binary is built for it.
target=""
exe="kudu-doctor"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64) target="x86_64-unknown-linux-musl" ;;
  Linux-aarch64 | Linux-arm64) target="aarch64-unknown-linux-musl" ;;
  Darwin-arm64 | Darwin-aarch64) target="aarch64-apple-darwin" ;;
  MINGW*-x86_64 | MSYS*-x86_64 | CYGWIN*-x86_64) target="x86_64-pc-windows-msvc"; exe="kudu-doctor.exe" ;;
esac
target="${KUDU_DOCTOR_TARGET:-$target}"

if [ -n "${KUDU_DOCTOR_RELEASE_URL:-}" ]; then
  base="${KUDU_DOCTOR_RELEASE_URL%/}"
elif [ -n "$repository" ] && [ "$version" = "latest" ]; then
  base="https://github.com/$repository/releases/latest/download"
elif [ -n "$repository" ]; then
  base="https://github.com/$repository/releases/download/$version"
else
  base=""
fi

publish() {
  if [ -n "${GITHUB_PATH:-}" ]; then
    printf '%s\n' "$install_dir" >>"$GITHUB_PATH"
  fi
  say "installed $("$install_dir/$exe" --version) in $install_dir"
}

fallback() {
  say "$1; building from source with cargo install --locked (a few minutes)"
  "$cargo" install --locked --root "${install_dir%/bin}" --path "$source_dir/crates/cli"
  publish
  exit 0
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

[ -n "$target" ] || fallback "no prebuilt kudu-doctor for $(uname -s) $(uname -m)"
[ -n "$base" ] || fallback "no release to download from (KUDU_DOCTOR_REPOSITORY is not set)"

asset="kudu-doctor-$target.tar.gz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() { curl --fail --silent --show-error --location --retry 2 --output "$2" "$1"; }
if ! fetch "$base/SHA256SUMS" "$work/SHA256SUMS" || ! fetch "$base/$asset" "$work/$asset"; then
  fallback "the release at $base is not reachable"
fi

# SHA256SUMS is `sha256sum` output: "<64 hex digits>  <file name>" (a `*` before the name in
# binary mode). The asset's line must be there exactly once.
expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print tolower($1) }' "$work/SHA256SUMS")"
if [ -z "$expected" ] || [ "$(printf '%s\n' "$expected" | wc -l)" -ne 1 ]; then
  say "refusing: SHA256SUMS of $base has no single line for $asset"
  exit 1
fi
actual="$(sha256_of "$work/$asset")"
if [ "$actual" != "$expected" ]; then
  say "refusing: $asset has SHA-256 $actual, but SHA256SUMS says $expected"
  exit 1
fi

tar -xzf "$work/$asset" -C "$work"
if [ ! -f "$work/$exe" ]; then
  say "refusing: $asset holds no $exe"
  exit 1
fi
mkdir -p "$install_dir"
install -m 0755 "$work/$exe" "$install_dir/$exe" 2>/dev/null || {
  cp "$work/$exe" "$install_dir/$exe"
  chmod 0755 "$install_dir/$exe"
}
say "$asset matches SHA256SUMS ($actual)"
publish
