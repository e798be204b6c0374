# The stack's clients for scripts, benchmarks and tests (sourced): `pg` (psql) and `ch` (curl) on
# STREAMSHOP_PG_URL / STREAMSHOP_CLICKHOUSE_URL, with no password on a command line. PostgreSQL's tools get the URL
# without its password (pgurl_run below); curl reads its URL (password included) from a config on a pipe.
#
#   pg ARGS…                    psql -X -q -v ON_ERROR_STOP=1 -At ARGS… on STREAMSHOP_PG_URL
#   ch SQL                      the SQL's answer from STREAMSHOP_CLICKHOUSE_URL (STREAMSHOP_CLICKHOUSE_CA_FILE for https)
#   ch_curl_config [PATH?QUERY] that curl config, for curl calls of other shapes (curl -K <(ch_curl_config …))
#
# PostgreSQL URLs without their password on a command line. A process's arguments are readable by every local user (/proc/<pid>/cmdline), its
# environment only by its owner (/proc/<pid>/environ): so a tool gets the URL without its password, and the
# password, percent-decoded, in PGPASSWORD in the environment of that one command.
#
#   pgurl_run URL TOOL [ARGS…]  runs `TOOL -d URL-WITHOUT-PASSWORD ARGS…` with PGPASSWORD=PASSWORD in its
#                               environment. TOOL: a libpq client whose -d takes a connection string (psql, pg_dump,
#                               pg_recvlogical, pg_isready). A URL without a password goes to -d as it is, and the
#                               environment is left alone (PGPASSWORD, ~/.pgpass apply as usual).
#   bash scripts/clients.sh TOOL [ARGS…]   (run, not sourced) pgurl_run "$STREAMSHOP_PG_URL" TOOL ARGS…: e.g. after
#                               `source .streamshop/env`, `bash scripts/clients.sh psql` opens psql on the stack.
#   pgurl_split URL             sets PGURL_WITHOUT_PASSWORD and PGURL_PASSWORD (empty when the URL has none).
# Both return 2 with a message on stderr if the password holds a '%' that is not followed by two hex digits, or
# %00 (libpq refuses both too); any other byte decodes exactly.
# The URL is read as libpq reads postgresql:// and postgres:// URLs: the userinfo ends at the first '@' before any
# '/', the user at the first ':' of the userinfo. Anything else (a key=value string) is passed on unchanged.

pg() { pgurl_run "$STREAMSHOP_PG_URL" psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
ch() { curl -sS --fail-with-body -K <(ch_curl_config) --data-binary "$1"; }
ch_curl_config() {
  printf 'url = "%s/%s"\n' "$STREAMSHOP_CLICKHOUSE_URL" "${1:-}"
  if [[ -n "${STREAMSHOP_CLICKHOUSE_CA_FILE:-}" ]]; then printf 'cacert = "%s"\n' "$STREAMSHOP_CLICKHOUSE_CA_FILE"; fi
}

pgurl_run() {
  local url=$1 tool=$2 PGURL_WITHOUT_PASSWORD PGURL_PASSWORD
  shift 2
  pgurl_split "$url" || return
  if [[ -n $PGURL_PASSWORD ]]; then
    PGPASSWORD=$PGURL_PASSWORD "$tool" -d "$PGURL_WITHOUT_PASSWORD" "$@"
  else
    "$tool" -d "$url" "$@"
  fi
}

pgurl_split() {
  local url=$1 scheme rest userinfo user
  PGURL_WITHOUT_PASSWORD=$url PGURL_PASSWORD=
  [[ $url == postgresql://* || $url == postgres://* ]] || return 0
  scheme=${url%%://*}
  rest=${url#*://}
  userinfo=${rest%%[@/]*}
  [[ $rest == "$userinfo@"* && $userinfo == *:* ]] || return 0
  pgurl_percent_decode "${userinfo#*:}" || return 2
  user=${userinfo%%:*}
  PGURL_WITHOUT_PASSWORD=$scheme://$user${user:+@}${rest#*@}
}

# pgurl_percent_decode TEXT: PGURL_PASSWORD = TEXT with each %XX replaced by the byte 0xXX.
pgurl_percent_decode() {
  local s=$1 hex byte
  PGURL_PASSWORD=
  while [[ $s == *%* ]]; do
    PGURL_PASSWORD+=${s%%"%"*}
    s=${s#*"%"}
    hex=${s:0:2}
    if [[ $hex != [0-9A-Fa-f][0-9A-Fa-f] || $hex == 00 ]]; then
      echo "pgurl: the password of a PostgreSQL URL holds '%' not followed by two hex digits, or %00;" \
        "percent-encode it (a '%' is %25)" >&2
      PGURL_PASSWORD=
      return 2
    fi
    printf -v byte "\\x$hex"
    PGURL_PASSWORD+=$byte
    s=${s:2}
  done
  PGURL_PASSWORD+=$s
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  : "${STREAMSHOP_PG_URL:?set STREAMSHOP_PG_URL (source the stack env file: source .streamshop/env)}"
  (($# > 0)) || { echo "usage: bash scripts/clients.sh TOOL [ARGS…]  (e.g. psql)" >&2; exit 2; }
  pgurl_run "$STREAMSHOP_PG_URL" "$@"
fi
