#!/usr/bin/env bash
# The GitHub Action's entry point (action.yml). Reads its inputs from the environment only:
#   INPUT_VERSION  release to download (x.y.z or vx.y.z)
#   INPUT_ARGS     command and arguments, one per line
#   INPUT_FAIL_ON  error | warning | info | never
#   INPUT_SARIF    path for the SARIF report, or empty
#   INPUT_SUMMARY  "true" to append the Markdown report to $GITHUB_STEP_SUMMARY
#   INPUT_BINARY   an existing binary: no download (tests, own builds)
#   EMR_AMI_AUDIT_RELEASES  base URL of the releases (default: the project's GitHub releases)
# Exit code: emr-ami-audit's (0 clean, 1 findings at fail-on, 2 bad input, 3 not audited).
set -euo pipefail

fail() {
  echo "::error title=emr-ami-audit::$*" >&2
  exit 2
}

# Where downloads go and outputs are written: the runner's temp dir, else a private one.
work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/emr-ami-audit.XXXXXX")
trap 'rm -rf "$work"' EXIT

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# The release asset for this runner.
target() {
  local os arch
  os=${RUNNER_OS:-$(uname -s)}
  arch=${RUNNER_ARCH:-$(uname -m)}
  case "$os/$arch" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    *) fail "no emr-ami-audit release for $os/$arch: build it and pass its path as the binary input" ;;
  esac
}

download() {
  local version=${INPUT_VERSION:-}
  version=${version#v}
  # Only a version number reaches the URL.
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] || fail "version: not a release number: '$version'"
  local base=${EMR_AMI_AUDIT_RELEASES:-https://github.com/emr-ami-audit/emr-ami-audit/releases/download}
  local asset
  asset="emr-ami-audit-$(target).tar.gz"
  local proto='=https'
  # Tests point the base at a local directory.
  [[ $base == file://* ]] && proto='=file'
  curl --proto "$proto" --tlsv1.2 -fsSL --retry 3 -o "$work/$asset" "$base/v$version/$asset" \
    || fail "could not download $base/v$version/$asset"
  curl --proto "$proto" --tlsv1.2 -fsSL --retry 3 -o "$work/SHA256SUMS" "$base/v$version/SHA256SUMS" \
    || fail "could not download $base/v$version/SHA256SUMS"
  local expected actual
  expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$work/SHA256SUMS")
  [[ -n $expected ]] || fail "SHA256SUMS of v$version has no line for $asset"
  actual=$(sha256 "$work/$asset")
  [[ $expected == "$actual" ]] || fail "checksum mismatch for $asset: expected $expected, got $actual"
  mkdir -p "$work/bin"
  tar -xzf "$work/$asset" -C "$work/bin" emr-ami-audit
  echo "$work/bin/emr-ami-audit"
}

if [[ -n ${INPUT_BINARY:-} ]]; then
  [[ -x $INPUT_BINARY ]] || fail "binary: not an executable file: '$INPUT_BINARY'"
  bin=$INPUT_BINARY
else
  bin=$(download)
fi

# One argument per line; empty lines are skipped. Nothing is evaluated by the shell.
args=()
while IFS= read -r line || [[ -n $line ]]; do
  line=${line%$'\r'}
  [[ -n $line ]] && args+=("$line")
done <<<"${INPUT_ARGS:-}"
[[ ${#args[@]} -gt 0 ]] || fail "args: give the command, e.g. cluster"

fail_on=${INPUT_FAIL_ON:-error}
sarif=${INPUT_SARIF:-}
code=0
if [[ -n $sarif ]]; then
  "$bin" --fail-on "$fail_on" --format sarif --output "$sarif" "${args[@]}" || code=$?
fi
if [[ ${INPUT_SUMMARY:-true} == true ]]; then
  # A second run for the Markdown report: the calls are read-only (Describe*, List*, Get*).
  summary_code=0
  "$bin" --fail-on "$fail_on" --format markdown --output "$work/report.md" "${args[@]}" || summary_code=$?
  [[ -n $sarif ]] || code=$summary_code
  if [[ -n ${GITHUB_STEP_SUMMARY:-} && -f $work/report.md ]]; then
    cat "$work/report.md" >>"$GITHUB_STEP_SUMMARY"
  fi
elif [[ -z $sarif ]]; then
  "$bin" --fail-on "$fail_on" "${args[@]}" || code=$?
fi

if [[ -n ${GITHUB_OUTPUT:-} ]]; then
  # The SARIF path only when the file was written (bad input writes none): an upload step can test it.
  if [[ -n $sarif && -f $sarif ]]; then
    echo "sarif=$sarif" >>"$GITHUB_OUTPUT"
  else
    echo "sarif=" >>"$GITHUB_OUTPUT"
  fi
  echo "exit-code=$code" >>"$GITHUB_OUTPUT"
fi
case $code in
  0) ;;
  1) echo "::error title=emr-ami-audit::findings at or above '$fail_on' (see the report)" >&2 ;;
  3) echo "::error title=emr-ami-audit::something could not be audited (see the report)" >&2 ;;
  *) echo "::error title=emr-ami-audit::emr-ami-audit exited with $code" >&2 ;;
esac
exit "$code"
