#!/usr/bin/env bash
# The action's main step (action.yml): credentials from the inputs, else from the environment
# the workflow set, then one kudu-doctor command per mode. Exit codes are kudu-doctor's own.
set -euo pipefail

# An input wins over the variable of the same meaning; an empty input leaves the variable.
[ -n "${INPUT_USERNAME:-}" ] && export KUDU_USERNAME="$INPUT_USERNAME"
[ -n "${INPUT_PASSWORD:-}" ] && export KUDU_PASSWORD="$INPUT_PASSWORD"
[ -n "${INPUT_BEARER_TOKEN:-}" ] && export KUDU_BEARER_TOKEN="$INPUT_BEARER_TOKEN"
if [ "${INPUT_AZURE_LOGIN:-false}" = "true" ] && [ -z "${KUDU_BEARER_TOKEN:-}" ]; then
  token="$(az account get-access-token --query accessToken --output tsv)"
  echo "::add-mask::$token"
  export KUDU_BEARER_TOKEN="$token"
fi

allow=()
[ -n "${INPUT_ALLOW_HOST:-}" ] && allow=(--allow-host "$INPUT_ALLOW_HOST")
url="${INPUT_APP_URL:?app-url is required}"
timeout="${INPUT_TIMEOUT:-15m}"

case "${INPUT_MODE:-wait}" in
  wait)
    kudu-doctor wait "$url" --timeout "$timeout" ${allow[@]+"${allow[@]}"}
    ;;
  fix-stale)
    backup_dir="${INPUT_BACKUP_DIR:-kudu-doctor-backup}"
    mkdir -p "$backup_dir"
    echo "backup-dir=$backup_dir" >>"${GITHUB_OUTPUT:-/dev/null}"
    kudu-doctor wait "$url" --timeout "$timeout" --fix-stale --backup-dir "$backup_dir" ${allow[@]+"${allow[@]}"}
    ;;
  diagnose)
    kudu-doctor diagnose "$url" --format github ${allow[@]+"${allow[@]}"}
    ;;
  *)
    echo "::error title=Kudu Doctor::mode must be wait, fix-stale or diagnose, not '${INPUT_MODE}'"
    exit 64
    ;;
esac
