#!/usr/bin/env bash
# register_connector.sh — create or update a Kafka Connect connector from a JSON file, once Connect is up.
#
# Usage: scripts/register_connector.sh [config.json] [key=value ...]
#
#   config.json   {"name": ..., "config": {...}} (the body of POST /connectors) or a flat config with
#                 a "name" key; default connectors/postgres-source.json (Debezium PostgreSQL source)
#   key=value     overrides a config key, e.g. database.hostname=127.0.0.1 database.port=15432
#
# Polls the Connect REST API until it answers, then PUT /connectors/<name>/config, which creates the
# connector or updates it in place; when Connect already has exactly this config it sends nothing, so a
# re-run changes nothing and does not restart the connector (a PUT always would). Then it
# waits until the connector and all its tasks are RUNNING. Exits non-zero with Connect's error (and a
# failed task's trace) otherwise.
#
# Environment:
#   STREAMSHOP_CONNECT_URL   Connect REST URL (default http://127.0.0.1:$STREAMSHOP_CONNECT_PORT)
#   STREAMSHOP_CONNECT_PORT  (default 18083)
#   STREAMSHOP_CONNECT_WAIT  seconds to wait for Connect and for RUNNING (default 120)
#   STREAMSHOP_CONNECT_NO_WAIT_RUNNING=1  return right after the PUT
# Requires curl and jq.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
URL=${STREAMSHOP_CONNECT_URL:-http://127.0.0.1:${STREAMSHOP_CONNECT_PORT:-18083}}
URL=${URL%/}
WAIT=${STREAMSHOP_CONNECT_WAIT:-120}

say() { echo "register: $*"; }
die() { echo "register: error: $*" >&2; exit 1; }

command -v jq >/dev/null || die "jq not found (Debian package jq)"
command -v curl >/dev/null || die "curl not found"

file=$REPO/connectors/postgres-source.json
if (($# > 0)) && [[ "$1" != *=* ]]; then file=$1; shift; fi
[[ -f "$file" ]] || die "no connector config file $file"
jq -e 'type == "object"' "$file" >/dev/null 2>&1 || die "$file is not a JSON object"

# {"name", "config"} or a flat config; the name also goes into the config (Connect requires them equal).
name=$(jq -r 'if has("config") then .name // .config.name else .name end // empty' "$file")
[[ -n "$name" ]] || die "$file has no connector name (\"name\")"
config=$(jq -c --arg n "$name" 'if has("config") then .config else del(.name) end
  | with_entries(.value |= tostring) | .name = $n' "$file")
for kv in "$@"; do
  [[ "$kv" == ?*=* ]] || die "override '$kv' is not key=value"
  config=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '.[$k] = $v' <<<"$config")
done

deadline=$((SECONDS + WAIT))
# curl_json METHOD PATH [BODY]: prints the body, then the HTTP code on its own last line.
curl_json() {
  local args=(-sS --max-time 30 -X "$1" -H 'Accept: application/json' -w '\n%{http_code}')
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$URL$2" 2>/dev/null || printf '\n000'
}

say "waiting for Kafka Connect at $URL"
until [[ "$(curl_json GET / | tail -n 1)" == 200 ]]; do
  ((SECONDS < deadline)) || die "Kafka Connect did not answer at $URL within ${WAIT} s"
  sleep 0.5
done

# Unchanged config: nothing to do (a PUT would restart the connector and its tasks, even mid-snapshot).
current=$(curl_json GET "/connectors/$name/config")
if [[ "$(tail -n 1 <<<"$current")" == 200 ]] &&
   [[ "$(sed '$d' <<<"$current" | jq -S -c .)" == "$(jq -S -c . <<<"$config")" ]]; then
  say "connector $name already registered with this config; unchanged"
else
  # During startup (or a rebalance) Connect answers 409/5xx: retry until the deadline.
  while :; do
    resp=$(curl_json PUT "/connectors/$name/config" "$config")
    code=$(tail -n 1 <<<"$resp")
    body=$(sed '$d' <<<"$resp")
    case "$code" in
      201) say "connector $name created"; break ;;
      200) say "connector $name updated"; break ;;
      409 | 5* | 000) ((SECONDS < deadline)) || die "PUT /connectors/$name/config: HTTP $code $body" ;;
      *) die "PUT /connectors/$name/config: HTTP $code $(jq -r '.message // .' <<<"$body" 2>/dev/null || echo "$body")" ;;
    esac
    sleep 1
  done
fi

[[ "${STREAMSHOP_CONNECT_NO_WAIT_RUNNING:-}" == 1 ]] && exit 0
while :; do
  status=$(curl_json GET "/connectors/$name/status" | sed '$d')
  cstate=$(jq -r '.connector.state // "UNKNOWN"' <<<"$status" 2>/dev/null || echo UNKNOWN)
  tstates=$(jq -r '[.tasks[]?.state] | join(",")' <<<"$status" 2>/dev/null || true)
  if [[ "$cstate" == FAILED || ",$tstates," == *,FAILED,* ]]; then
    jq -r '.connector.trace // empty, (.tasks[]? | select(.state == "FAILED") | .trace)' <<<"$status" |
      head -n 40 >&2
    die "connector $name failed (connector $cstate, tasks ${tstates:-none})"
  fi
  if [[ "$cstate" == RUNNING && -n "$tstates" ]] && ! grep -qv '^RUNNING$' <<<"${tstates//,/$'\n'}"; then
    say "connector $name RUNNING ($(tr ',' '\n' <<<"$tstates" | wc -l) task(s))"
    exit 0
  fi
  ((SECONDS < deadline)) || die "connector $name not RUNNING after ${WAIT} s (connector $cstate, tasks ${tstates:-none})"
  sleep 0.5
done
