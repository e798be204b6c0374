#!/usr/bin/env bash
# Randomized differential test: R rounds, each with a random schema (hostile identifiers, composite keys with
# separator-like values), a random publication shape (column lists, row filters, partitioned tables via root or
# leaves), a snapshot, then a random workload with DDL (tests/tools/random_cdc.sh) through `streamshop replicate`,
# which is restarted in the middle of half of the rounds. After each round `verify` must pass and two independent
# SQL comparisons must agree: lib.sh's independent_compare, and one of its own that any identifier survives
# (integers, text, bytea, booleans, uuids; each side renders the published rows in SQL, no streamshop code).
#   RANDOM_DIFF_SEED      the run's seed (default 41; `random`: lib.sh's TEST_SEED; printed, with the command to reproduce)
#   RANDOM_DIFF_ROUNDS    rounds through replicate (default 8, about 1.5 minutes here)
#   RANDOM_DIFF_KAFKA     1 (default): one more round through capture → Kafka → sink; 0: none
#   RANDOM_DIFF_KAFKA_FEATURES  the features of that round (default: RANDOM_DIFF_FEATURES but nan, ddlquiet)
#   RANDOM_DIFF_FEATURES  comma-separated generator features (default: those that pass on main today; `all` for
#                         every feature in tests/tools/random_cdc.sh)
# clickhouse-engines: server chdb
TEST_PORT_BASE=26400
KAFKA_ROUND=${RANDOM_DIFF_KAFKA:-1}
WITH_KAFKA=$KAFKA_ROUND
source "$(dirname "$0")/lib.sh" "$1"
source "$REPO/tests/tools/random_cdc.sh"

# A fixed seed in `make test` (CI must not depend on luck); RANDOM_DIFF_SEED=random (or any seed) explores further.
SEED=${RANDOM_DIFF_SEED:-41}
[[ $SEED == random ]] && SEED=$TEST_SEED
ROUNDS=${RANDOM_DIFF_ROUNDS:-8}
DEFAULT_FEATURES=names,sepkeys,toast,truncate,ddl,collist,rowfilter,partroot,partleaf,retype,nan,ddlquiet,recopy,keychange
FEATURES=${RANDOM_DIFF_FEATURES:-$DEFAULT_FEATURES}
[[ $FEATURES == all ]] && FEATURES=$RANDOM_DIFF_ALL_FEATURES
# The Kafka round leaves out what capture → sink cannot carry yet: numeric NaN (capture dead-letters the whole change:
# Kafka Connect's Decimal has no NaN) and a DDL with no later change (the sink learns columns from events only).
KAFKA_FEATURES=${RANDOM_DIFF_KAFKA_FEATURES:-$(tr , '\n' <<<"$FEATURES" | grep -vx -e nan -e ddlquiet | paste -sd,)}
REPRO="RANDOM_DIFF_SEED=$SEED RANDOM_DIFF_ROUNDS=$ROUNDS RANDOM_DIFF_FEATURES=$FEATURES RANDOM_DIFF_KAFKA=$KAFKA_ROUND RANDOM_DIFF_KAFKA_FEATURES=$KAFKA_FEATURES bash $0 $1"
log "seed $SEED, $ROUNDS rounds, features $FEATURES"
log "reproduce: $REPRO"
KEEP_DIR=${TMPDIR:-/tmp}/random_diff-$SEED-$$
ROUND=0
# On failure: the seed, the round, the command, and the round's SQL kept outside the stack directory.
on_fail() {
  local rc=$?
  if ((rc != 0)); then
    rm -rf "$KEEP_DIR" && mkdir -p "$KEEP_DIR" && cp -r "$LOG_DIR"/. "$KEEP_DIR"/ 2>/dev/null || true
    echo "[$TEST_NAME] FAILED in round $ROUND of seed $SEED (features $FEATURES); the round's SQL and logs: $KEEP_DIR" >&2
    echo "[$TEST_NAME] reproduce: $REPRO" >&2
  fi
  # cleanup reads the exit status from $?: hand it the test's own.
  set +e
  (exit "$rc")
  cleanup
}
trap on_fail EXIT

# ch_raw_name SCHEMA TABLE: the ClickHouse table of a PostgreSQL table: lib.sh's raw_table_name where it has one
# (the documented rule, written apart from the product), else raw_<table> for public and raw_<schema>__<table>.
ch_raw_name() {
  if declare -F raw_table_name >/dev/null; then raw_table_name "$1" "$2"; return; fi
  if [[ $1 == public ]]; then echo "raw_$2"; else echo "raw_$1__$2"; fi
}

# For every table the publication publishes: one line "schema|table|pg query|ch row expression" (base64 each), built
# by PostgreSQL from pg_publication_tables (which applies column lists, row filters and partition roots). Each side
# returns "rows md5" over the published rows, every column of a type both sides render the same way without
# streamshop's help (integers, text and varchar as hex bytes, bytea, booleans, uuids).
oracle_queries() {
  pg -v pub="$1" <<SQL
CREATE FUNCTION pg_temp.b64(text) RETURNS text LANGUAGE sql AS \$\$ SELECT translate(encode(convert_to(\$1, 'UTF8'), 'base64'), E'\\n', '') \$\$;
WITH pt AS (
  SELECT p.schemaname, p.tablename, p.attnames, p.rowfilter, c.oid
  FROM pg_publication_tables p JOIN pg_namespace n ON n.nspname = p.schemaname
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
  WHERE p.pubname = :'pub'),
cols AS (
  SELECT pt.oid, a.attnum, a.attname, t.typname,
         '\`' || replace(replace(a.attname, '\\', '\\\\'), '\`', '\\\`') || '\`' AS chq
  FROM pt JOIN pg_attribute a ON a.attrelid = pt.oid AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname = ANY (pt.attnames)
  JOIN pg_type t ON t.oid = a.atttypid
  WHERE t.typname IN ('int2', 'int4', 'int8', 'text', 'varchar', 'bpchar', 'bytea', 'bool', 'uuid')),
exprs AS (
  SELECT oid,
    string_agg(format('coalesce(%s, ''N'')', CASE
      WHEN typname IN ('int2', 'int4', 'int8', 'uuid') THEN format('%I::text', attname)
      WHEN typname = 'bool' THEN format('CASE WHEN %1\$I THEN ''1'' WHEN NOT %1\$I THEN ''0'' END', attname)
      WHEN typname = 'bytea' THEN format('encode(%I, ''hex'')', attname)
      ELSE format('encode(convert_to(%I, ''UTF8''), ''hex'')', attname) END), ' || '','' || ' ORDER BY attnum) AS pg_row,
    string_agg(format('ifNull(%s, ''N'')', CASE
      WHEN typname IN ('text', 'varchar', 'bpchar', 'bytea') THEN format('lower(hex(%s))', chq)
      WHEN typname = 'bool' THEN format('toString(toUInt8(%s))', chq)  -- a modern Bool's text is true/false
      ELSE format('toString(%s)', chq) END), ', '','', ' ORDER BY attnum) AS ch_row
  FROM cols GROUP BY oid)
SELECT pg_temp.b64(pt.schemaname), pg_temp.b64(pt.tablename),
  pg_temp.b64(format('SELECT count(*) || '' '' || md5(coalesce(string_agg(r, '';'' ORDER BY r COLLATE "C"), '''')) FROM (SELECT %s AS r FROM %I.%I WHERE %s) s',
    coalesce(e.pg_row, '''-'''), pt.schemaname, pt.tablename, coalesce(pt.rowfilter, 'true'))),
  pg_temp.b64(coalesce(e.ch_row, '''-'''))
FROM pt LEFT JOIN exprs e ON e.oid = pt.oid ORDER BY 1
SQL
}

b64() { printf '%s' "$1" | base64 -d; }

# A second independent comparison for publication $1 that any identifier survives (names travel base64-encoded).
# independent_compare_names fails the test on the first difference; independent_compare_names_check returns 1.
independent_compare_names() { independent_compare_names_check "$@" || fail "independent comparison failed"; }
independent_compare_names_check() {
  local schema table pgq chrow label raw chq pgr chr n=0 skipped=0
  while IFS='|' read -r schema table pgq chrow; do
    schema=$(b64 "$schema") table=$(b64 "$table") pgq=$(b64 "$pgq") chrow=$(b64 "$chrow")
    label="$schema.$table"
    if ! raw=$(ch_raw_name "$schema" "$table"); then
      log "round $ROUND: $label not compared independently (its ClickHouse name is hashed)"
      skipped=$((skipped + 1))
      continue
    fi
    raw=${raw//\\/\\\\}
    raw=${raw//\`/\\\`}
    chq="SELECT concat(toString(count()), ' ', lower(hex(MD5(arrayStringConcat(arraySort(groupArray(r)), ';'))))) FROM (SELECT concat($chrow, '') AS r FROM analytics.\`$raw\` FINAL WHERE _deleted = 0)"
    pgr=$(pg -c "$pgq") || { log "independent comparison: PostgreSQL query failed for $label: $pgq"; return 1; }
    chr=$(ch "$chq") || { log "independent comparison: ClickHouse query failed for $label: $chq"; return 1; }
    [[ "$pgr" == "$chr" ]] || { log "independent comparison: $label differs: PostgreSQL '$pgr', ClickHouse '$chr'"; return 1; }
    n=$((n + 1))
  done < <(oracle_queries "$1")
  IC_COMPARED=$n
  ((n + skipped > 0)) || { log "independent comparison: publication $1 has no tables"; return 1; }
  log "round $ROUND: independent comparison of $n tables agrees"
}

# Removes the previous round's objects on both sides.
reset_round() {
  pg <<'SQL' >/dev/null
SET client_min_messages = warning;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT pubname FROM pg_publication LOOP EXECUTE format('DROP PUBLICATION %I', r.pubname); END LOOP;
  FOR r IN SELECT slot_name FROM pg_replication_slots LOOP PERFORM pg_drop_replication_slot(r.slot_name); END LOOP;
  FOR r IN SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname NOT IN ('information_schema', 'public')
  LOOP EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname); END LOOP;
  FOR r IN SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')
    AND NOT relispartition
  LOOP EXECUTE format('DROP TABLE public.%I CASCADE', r.relname); END LOOP;
END $$;
SQL
  ch "DROP DATABASE IF EXISTS analytics" >/dev/null
}

sessions() { local c; c=$(grep -c "streaming changes" "$LOG_DIR/replicate.log" 2>/dev/null) || true; echo "${c:-0}"; }
more_sessions() { (($(sessions) > $1)); }

started=$SECONDS
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  GEN_DIR=$LOG_DIR/round-$ROUND
  mkdir -p "$GEN_DIR"
  export STREAMSHOP_PUBLICATION="pub r$ROUND" STREAMSHOP_SLOT=random_diff_$ROUND
  gen_round "$((SEED + ROUND * 7919))" "$FEATURES" "$STREAMSHOP_PUBLICATION"
  reset_round
  pg -f "$GEN_DIR/setup.sql" >/dev/null 2>"$GEN_DIR/setup.err" || { cat "$GEN_DIR/setup.err"; fail "setup SQL failed"; }
  log "round $ROUND: $(grep -c '^CREATE TABLE' "$GEN_DIR/setup.sql") tables, $(grep -c . "$GEN_DIR/work1.sql") + $(grep -c . "$GEN_DIR/work2.sql") statements"
  n=$(sessions)
  start_replicate
  wait_until 60 "replicate did not reach streaming" more_sessions "$n"
  pg -f "$GEN_DIR/work1.sql" >/dev/null 2>"$GEN_DIR/work1.err" || { cat "$GEN_DIR/work1.err"; fail "workload SQL failed"; }
  rnd 2
  if ((R == 0)); then
    log "round $ROUND: restarting replicate mid-workload"
    stop_replicate
    n=$(sessions)
    start_replicate
    wait_until 60 "replicate did not reach streaming after a restart" more_sessions "$n"
  fi
  pg -f "$GEN_DIR/work2.sql" >/dev/null 2>"$GEN_DIR/work2.err" || { cat "$GEN_DIR/work2.err"; fail "workload SQL failed"; }
  verify 90
  grep -q " OK$" "$LOG_DIR/verify.out" || { cat "$LOG_DIR/verify.out"; fail "verify compared no table"; }
  independent_compare_names "$STREAMSHOP_PUBLICATION"
  # lib.sh's oracle (every column type, full precision) splits schema.table at the first dot and quotes names
  # naively, so it runs on rounds without hostile identifiers.
  if ! has names; then PUBLICATION=$STREAMSHOP_PUBLICATION independent_compare; fi

  stop_replicate
  mv "$LOG_DIR/verify.out" "$GEN_DIR/verify.out"
  if ((ROUND == ROUNDS)); then
    # Self-check: with replicate stopped, empty every table in PostgreSQL; the comparison must now differ.
    rows=0
    for ((t = 0; t < NT; t++)); do
      tq "$t"
      rows=$((rows + $(pg -c "SELECT count(*) FROM $REPLY")))
      pg -c "DELETE FROM $REPLY"
    done
    if ((rows > 0 && IC_COMPARED > 0)); then
      ! independent_compare_names_check "$STREAMSHOP_PUBLICATION" >/dev/null || fail "the comparison missed a change"
      log "round $ROUND: the independent comparison catches changes replicate did not see"
    fi
  fi
done
log "$ROUNDS rounds in $((SECONDS - started)) s"
# RANDOM_DIFF_KAFKA=1: one more round through capture → Kafka → sink (one partition per topic: a truncate is
# ordered with the changes before it only within a partition, README "Limits").
if [[ $KAFKA_ROUND == 1 ]]; then
  ROUND=$((ROUNDS + 1))
  GEN_DIR=$LOG_DIR/round-$ROUND
  mkdir -p "$GEN_DIR"
  export STREAMSHOP_PUBLICATION="pub r$ROUND"
  gen_round "$((SEED + ROUND * 7919))" "$KAFKA_FEATURES" "$STREAMSHOP_PUBLICATION"
  reset_round
  pg -f "$GEN_DIR/setup.sql" >/dev/null 2>"$GEN_DIR/setup.err" || { cat "$GEN_DIR/setup.err"; fail "setup SQL failed"; }
  log "round $ROUND (Kafka, features $KAFKA_FEATURES): $(grep -c '^CREATE TABLE' "$GEN_DIR/setup.sql") tables"
  start_capture --partitions 1
  start_sink k --flush-ms 100
  wait_capture_streaming
  pg -f "$GEN_DIR/work1.sql" >/dev/null 2>"$GEN_DIR/work1.err" || { cat "$GEN_DIR/work1.err"; fail "workload SQL failed"; }
  pg -f "$GEN_DIR/work2.sql" >/dev/null 2>"$GEN_DIR/work2.err" || { cat "$GEN_DIR/work2.err"; fail "workload SQL failed"; }
  verify 120
  grep -q " OK$" "$LOG_DIR/verify.out" || { cat "$LOG_DIR/verify.out"; fail "verify compared no table"; }
  independent_compare_names "$STREAMSHOP_PUBLICATION"
  if ! has names; then PUBLICATION=$STREAMSHOP_PUBLICATION independent_compare; fi
  stop_clean "$SINK_PID" sink
  stop_clean "$CAPTURE_PID" capture
fi
log "done in $((SECONDS - started)) s"

