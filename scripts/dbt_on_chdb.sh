#!/usr/bin/env bash
# dbt_on_chdb.sh — build the dbt project (dbt/streamshop) on chdb, the modern ClickHouse engine available here,
# over the raw_* tables that `streamshop replicate` wrote into a ClickHouse server. Shared by `make demo`
# (scripts/demo.sh) and the CI proof (tests/integration/test_dbt.sh); docs/DBT.md explains why and how.
#
# Usage: scripts/dbt_on_chdb.sh STEP...          (steps run in the order given; `all` = compile export load build)
#
#   compile   real dbt (dbt-core + dbt-clickhouse from the venv): `dbt --warn-error parse`, then
#             `dbt --warn-error compile --no-populate-cache --no-introspect`, then `dbt --warn-error docs generate
#             --no-compile --empty-catalog --no-populate-cache --static` (the docs site from that manifest, without
#             reading the warehouse's catalog), with the profile aimed at a loopback port where nothing listens: no
#             step may contact a server (an attempt fails the command, and the logs are checked too); writes
#             <work>/target/: manifest.json, compiled SQL, index.html and static_index.html (one file)
#   export    every version of every raw_* row (all versions, every delete marker, no FINAL) from the ClickHouse
#             server as RowBinary + TSV, both read from one frozen TinyLog copy per table (dropped afterwards),
#             plus the legacy column types, PostgreSQL's column types and primary keys, the server time zone,
#             and <work>/raw/export_stats.tsv (table, row versions, delete markers)
#   load      tests/dbt/run_on_chdb.py load-raw: the raw tables into the chdb session in the modern dialect
#             (round trip checked)
#   build     tests/dbt/run_on_chdb.py build: the compiled models (dependency order) and all tests on chdb;
#             dbt-like output on stdout; exit 1 if a test failed, 2 if a model failed
#   query SQL one statement on the chdb session, result on stdout (format: DBT_ON_CHDB_FORMAT, default TSVRaw)
#   all       compile export load build
#
# Environment:
#   STREAMSHOP_PG_URL, STREAMSHOP_CLICKHOUSE_URL   the source PostgreSQL and the ClickHouse server (export only;
#                                                  the stack's <dir>/env sets both)
#   DBT_ON_CHDB_DIR      work dir (default <repo>/.streamshop/dbt-on-chdb): target/, logs/, raw/, chdb/ (the
#                        session, where the marts end up: analytics.dim_customers, analytics.fct_orders)
#   DBT_ON_CHDB_CLOSED_PORT  loopback port with no listener for the compile profile (default: a free port
#                        picked by the kernel just before compiling)
#   DBT_ON_CHDB_TABLES   the PostgreSQL tables whose raw_* are exported (default: customers products orders
#                        order_items, the dbt sources)
#   STREAMSHOP_VENV      the venv of scripts/bootstrap-python.sh (default <repo>/.venv)
# Exit: 0 on success; the failing step's status otherwise (with its log on stderr).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VENV=${STREAMSHOP_VENV:-$REPO/.venv}
PROJECT=$REPO/dbt/streamshop
WORK=$(realpath -m "${DBT_ON_CHDB_DIR:-$REPO/.streamshop/dbt-on-chdb}")
read -r -a TABLES <<<"${DBT_ON_CHDB_TABLES:-customers products orders order_items}"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_USE_COLORS=false DBT_PROFILES_DIR=$PROJECT
export DBT_TARGET_PATH=$WORK/target DBT_LOG_PATH=$WORK/logs

trap 'exit 130' INT   # interrupted: stop at once, without showing the interrupted tool's log as a failure
trap 'exit 143' TERM
say() { echo "dbt_on_chdb: $*"; }
die() { echo "dbt_on_chdb: error: $*" >&2; exit 1; }
# show_log FILE: its last lines on stderr (for a failure).
show_log() { echo "--- $1 (last 40 lines)" >&2; tail -n 40 "$1" >&2; }

need_venv() {
  [[ -x "$VENV/bin/dbt" && -x "$VENV/bin/python" ]] ||
    die "no dbt in $VENV: run scripts/bootstrap-python.sh (or set STREAMSHOP_VENV)"
}
chdb_run() { "$VENV/bin/python" "$REPO/tests/dbt/run_on_chdb.py" --session "$WORK/chdb" "$@"; }

# ---------------------------------------------------------------------------------------------------- compile
closed_port() {
  if [[ -n "${DBT_ON_CHDB_CLOSED_PORT:-}" ]]; then
    echo "$DBT_ON_CHDB_CLOSED_PORT"
  else  # bound and released at once: nothing listens there afterwards
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  fi
}

step_compile() {
  need_venv
  local port
  port=$(closed_port)
  [[ -z "$(ss -Hltn "sport = :$port")" ]] || die "port $port should have no listener (DBT_ON_CHDB_CLOSED_PORT)"
  mkdir -p "$WORK/logs"
  rm -rf "$WORK/target"
  local step log
  # `--no-populate-cache` skips the one part of compilation that queries the warehouse (listing existing
  # relations) and `--no-introspect` makes any introspective query in a model an error instead of a connection;
  # `docs generate --no-compile --empty-catalog` builds the docs site from that manifest without reading the
  # warehouse's catalog.
  for step in parse compile docs; do
    log=$WORK/logs/dbt-$step.log
    local args=(--warn-error parse)
    [[ $step == compile ]] && args=(--warn-error compile --no-populate-cache --no-introspect)
    [[ $step == docs ]] && args=(--warn-error docs generate --no-compile --empty-catalog --no-populate-cache --static)
    if ! (cd "$PROJECT" && DBT_CLICKHOUSE_HOST=127.0.0.1 DBT_CLICKHOUSE_PORT=$port \
            "$VENV/bin/dbt" "${args[@]}") >"$log" 2>&1; then
      show_log "$log"
      die "dbt $step failed"
    fi
    ! grep -qiE "connection refused|HTTPConnectionPool|Database Error" "$log" ||
      { show_log "$log"; die "dbt $step tried to reach a ClickHouse server"; }
  done
  [[ -f "$DBT_TARGET_PATH/manifest.json" && -f "$DBT_TARGET_PATH/index.html" &&
     -f "$DBT_TARGET_PATH/compiled/streamshop/models/marts/fct_orders.sql" ]] ||
    die "dbt left no manifest/compiled SQL/docs in $DBT_TARGET_PATH"
  say "compiled with dbt-core $(sed -n 's/.*Running with dbt=\([0-9.]*\).*/\1/p' "$WORK/logs/dbt-compile.log" |
    head -n 1) ($(grep -oE "Found [0-9]+ models?, ([0-9]+ snapshots?, )?[0-9]+ data tests?" "$WORK/logs/dbt-compile.log" | head -n 1 |
    sed 's/^Found //')); no server contacted (profile aimed at closed port $port); docs in $DBT_TARGET_PATH"
}

# ---------------------------------------------------------------------------------------------------- export
source "$REPO/scripts/clients.sh"   # pg, ch: the stack's clients, no password on a command line

step_export() {
  : "${STREAMSHOP_PG_URL:?set STREAMSHOP_PG_URL (source the stack env file)}"
  : "${STREAMSHOP_CLICKHOUSE_URL:?set STREAMSHOP_CLICKHOUSE_URL (source the stack env file)}"
  local raw=$WORK/raw t stats versions deletes names=""
  rm -rf "$raw" && mkdir -p "$raw"
  # Both formats are read from one frozen copy (TinyLog: no background merges), so a ReplacingMergeTree merge
  # that collapses versions between the two reads cannot make them differ.
  for t in "${TABLES[@]}"; do
    ch "DROP TABLE IF EXISTS analytics._export_$t"
    ch "CREATE TABLE analytics._export_$t AS analytics.raw_$t ENGINE = TinyLog"
    ch "INSERT INTO analytics._export_$t SELECT * FROM analytics.raw_$t"
    ch "DESCRIBE TABLE analytics.raw_$t FORMAT TSV" >"$raw/raw_$t.columns"
    ch "SELECT * FROM analytics._export_$t FORMAT RowBinary" >"$raw/raw_$t.bin"
    ch "SELECT * FROM analytics._export_$t FORMAT TSV" >"$raw/raw_$t.tsv"
    stats=$(ch "SELECT count(), countIf(_deleted = 1) FROM analytics._export_$t")
    ch "DROP TABLE analytics._export_$t"
    printf 'raw_%s\t%s\n' "$t" "$stats" >>"$raw/export_stats.tsv"
    names+="${names:+, }'$t'"
  done
  # The outbox's events (replicate --outbox-table), when the server has them: append-only, no merge changes them.
  if [[ $(ch "EXISTS TABLE analytics.outbox_events") == 1 ]]; then
    ch "DESCRIBE TABLE analytics.outbox_events FORMAT TSV" >"$raw/outbox_events.columns"
    ch "SELECT * FROM analytics.outbox_events ORDER BY _commit_lsn, _seq FORMAT RowBinary" >"$raw/outbox_events.bin"
    ch "SELECT * FROM analytics.outbox_events ORDER BY _commit_lsn, _seq FORMAT TSV" >"$raw/outbox_events.tsv"
    printf 'outbox_events\t%s\t0\n' "$(ch "SELECT count() FROM analytics.outbox_events")" >>"$raw/export_stats.tsv"
    names+=", 'outbox_events'"
  fi
  pg -F $'\t' -c "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
      coalesce(array_position(string_to_array(i.indkey::text, ' ')::int[], a.attnum::int), 0)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
    WHERE n.nspname = 'public' AND c.relname IN ($names)
    ORDER BY 1, a.attnum" >"$raw/pg_columns.tsv"
  ch "SELECT timezone()" >"$raw/server_timezone"
  read -r versions deletes < <(awk -F'\t' '{ v += $2; d += $3 } END { print v + 0, d + 0 }' "$raw/export_stats.tsv")
  say "exported ${#TABLES[@]} raw tables from ClickHouse $(ch "SELECT version()"): $versions row versions" \
    "($deletes delete markers), no FINAL"
}

# ---------------------------------------------------------------------------------------------------- load/build
step_load() {
  need_venv
  [[ -f "$WORK/raw/export_stats.tsv" ]] || die "nothing exported in $WORK/raw: run the export step first"
  mkdir -p "$WORK/logs"
  local log=$WORK/logs/chdb-load.log
  chdb_run load-raw --raw-dir "$WORK/raw" >"$log" 2>&1 || { show_log "$log"; die "load into chdb failed"; }
  say "loaded $(grep -c '^loaded ' "$log") raw tables into chdb $(chdb_run query "SELECT version()") in the modern" \
    "dialect: $(awk '/^loaded /{ n += $3 } END { print n + 0 }' "$log") row versions, round trip exact" \
    "(details: $log)"
}

step_build() {
  need_venv
  [[ -f "$DBT_TARGET_PATH/manifest.json" ]] || die "no $DBT_TARGET_PATH/manifest.json: run the compile step first"
  chdb_run build --target "$DBT_TARGET_PATH"
}

main() {
  (($# > 0)) || { sed -n '/^# Usage:/,/^# Exit:/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
  while (($# > 0)); do
    case $1 in
      compile) step_compile ;;
      export) step_export ;;
      load) step_load ;;
      build) step_build ;;
      all) step_compile; step_export; step_load; step_build ;;
      query)
        (($# >= 2)) || die "query needs an SQL statement"
        need_venv
        chdb_run query --format "${DBT_ON_CHDB_FORMAT:-TSVRaw}" "$2"
        shift ;;
      *) die "unknown step '$1' (compile, export, load, build, query SQL, all)" ;;
    esac
    shift
  done
}

main "$@"
