#!/usr/bin/env bash
# dbt_clickhouse.sh — the real dbt (dbt-core + dbt-clickhouse of the venv) against the stack's ClickHouse, for any
# dbt command: `dbt build` (models, the product_prices_snapshot snapshot, tests), `dbt snapshot`, `dbt run -s …`.
# The connection comes from STREAMSHOP_CLICKHOUSE_URL (http[s]://[user[:password]@]host[:port]; the stack's
# <dir>/env sets it), the project is dbt/streamshop; any argument is passed to dbt (which runs with --warn-error).
# dbt-clickhouse needs ClickHouse >= 22: on the stack's 18.16 server this refuses to start and says what to do
# (`stack up --clickhouse-engine chdb` for ClickHouse 26.x, or scripts/dbt_on_chdb.sh). Used by scripts/demo.sh
# (STREAMSHOP_CLICKHOUSE_ENGINE=chdb) and tests/integration/test_dbt_clickhouse.sh; docs/DBT.md.
#
# Usage: scripts/dbt_clickhouse.sh DBT-COMMAND [ARG...]     e.g. build | snapshot | run -s dim_customers
#
# Environment:
#   STREAMSHOP_CLICKHOUSE_URL  the ClickHouse HTTP endpoint (required)
#   STREAMSHOP_CLICKHOUSE_CA_FILE  the CA that verifies an https endpoint (the stack's <dir>/tls/ca.pem with --tls)
#   DBT_CLICKHOUSE_DIR         dbt's target/ and logs/ (default <repo>/.streamshop/dbt-clickhouse)
#   DBT_PROJECT_DIR            the dbt project (default <repo>/dbt/streamshop; a test points it at an edited copy)
#   DBT_CLICKHOUSE_DATABASE, DBT_CLICKHOUSE_RAW_DATABASE, DBT_CLICKHOUSE_THREADS   as in dbt/streamshop/profiles.yml
#   STREAMSHOP_VENV            the venv of scripts/bootstrap-python.sh (default <repo>/.venv)
# Exit: dbt's status (0 success, 1 a model/test/snapshot failed, 2 dbt could not run); 2 for a missing venv, a bad
# URL or a server older than 22.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VENV=${STREAMSHOP_VENV:-$REPO/.venv}
PROJECT=$(realpath -m "${DBT_PROJECT_DIR:-$REPO/dbt/streamshop}")
WORK=$(realpath -m "${DBT_CLICKHOUSE_DIR:-$REPO/.streamshop/dbt-clickhouse}")
die() { echo "dbt_clickhouse: error: $*" >&2; exit 2; }

(($# > 0)) || { sed -n '/^# Usage:/,/^# Exit:/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[[ -x "$VENV/bin/dbt" ]] || die "no dbt in $VENV: run scripts/bootstrap-python.sh (or set STREAMSHOP_VENV)"
url=${STREAMSHOP_CLICKHOUSE_URL:?set STREAMSHOP_CLICKHOUSE_URL (source the stack env file)}
[[ "$url" =~ ^(https?)://(([^:@/]*)(:([^@/]*))?@)?([^:/]+)(:([0-9]+))?/?$ ]] ||
  die "STREAMSHOP_CLICKHOUSE_URL is not http[s]://[user[:password]@]host[:port]"
# userinfo is percent-encoded in a URL (the stack's passwords hold ?#/@:%): decoded here, as every client does.
pct_decode() { local s=${1//\\/%5C}; printf '%b' "${s//%/\\x}"; }
scheme=${BASH_REMATCH[1]} host=${BASH_REMATCH[6]}
user=$(pct_decode "${BASH_REMATCH[3]}") password=$(pct_decode "${BASH_REMATCH[5]}")
port=${BASH_REMATCH[8]:-$([[ $scheme == https ]] && echo 8443 || echo 8123)}

# The credentials travel in headers read from a pipe, never on a command line.
version=$(curl -sS --fail-with-body ${STREAMSHOP_CLICKHOUSE_CA_FILE:+--cacert "$STREAMSHOP_CLICKHOUSE_CA_FILE"} -H @<(printf 'X-ClickHouse-User: %s\nX-ClickHouse-Key: %s\n' "${user:-default}" \
  "$password") "$scheme://$host:$port/" --data-binary "SELECT version()") ||
  die "ClickHouse at $scheme://$host:$port does not answer: $version"
((${version%%.*} >= 22)) ||
  die "ClickHouse $version at $host:$port: dbt-clickhouse needs ClickHouse >= 22 (the modern dialect >= 23.2)." \
    "Start the stack with \`streamshop stack up --clickhouse-engine chdb\` (ClickHouse 26.x), or build the marts" \
    "on chdb over an export with scripts/dbt_on_chdb.sh (docs/DBT.md)"

mkdir -p "$WORK"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_USE_COLORS=false
export DBT_TARGET_PATH=$WORK/target DBT_LOG_PATH=$WORK/logs
export DBT_CLICKHOUSE_HOST=$host DBT_CLICKHOUSE_PORT=$port DBT_CLICKHOUSE_USER=${user:-default}
export DBT_ENV_SECRET_CLICKHOUSE_PASSWORD=$password
export DBT_CLICKHOUSE_SECURE=$([[ $scheme == https ]] && echo true || echo false)
# A private CA (`stack up --tls`): clickhouse-connect verifies with Python's default context, which reads SSL_CERT_FILE.
if [[ -n "${STREAMSHOP_CLICKHOUSE_CA_FILE:-}" ]]; then export SSL_CERT_FILE=$STREAMSHOP_CLICKHOUSE_CA_FILE; fi
cd "$PROJECT"
exec "$VENV/bin/dbt" --warn-error "$@" --project-dir "$PROJECT" --profiles-dir "$PROJECT"
