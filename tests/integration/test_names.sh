#!/usr/bin/env bash
# Names PostgreSQL allows — quotes, backticks, backslashes, dots, spaces, a tab, a newline, unicode, reserved
# words, 63-byte names — and pairs of tables that the plain raw_<schema>__<table> rule or a "schema.table" key
# would map to one target, through `replicate`: snapshot, streaming inserts/updates/deletes, a restart (a table
# must not stop because its column names need quoting), `verify`, and each raw table's row count read directly
# from ClickHouse under the name docs/TYPE_MAPPING.md promises. Last, a column named _part (which 18.16 would read
# back as the part's name) stops only its table, named in the log.
# clickhouse-engines: server chdb
TEST_PORT_BASE=24100
source "$(dirname "$0")/lib.sh" "$1"

LONG_SCHEMA="$(printf 'с%.0s' {1..31})x"  # 63 bytes of UTF-8 each: too long for a plain ClickHouse file name
LONG_TABLE="$(printf 'т%.0s' {1..31})y"
NAME63=n23456789012345678901234567890123456789012345678901234567890123

pg -v long_schema="$LONG_SCHEMA" -v long_table="$LONG_TABLE" <<'SQL'
CREATE SCHEMA a; CREATE SCHEMA "a.b"; CREATE SCHEMA "a__b"; CREATE SCHEMA "a_"; CREATE SCHEMA :"long_schema";
-- Every table: id int PRIMARY KEY and v text, plus columns with awkward names.
CREATE TABLE "it's ""q"" `b`\s" (id int PRIMARY KEY, v text, "it's" text, "back\slash" text, U&"tab\0009col" int,
  "x`y" text, U&"nl\000Acol" text, "dot.col" text, "sp ace" text, "ключ" text, U&"ctl\0001\001F" text);
CREATE TABLE "a__b" (id int PRIMARY KEY, v text);     -- raw_a__b under the plain rule …
CREATE TABLE a.b (id int PRIMARY KEY, v text);        -- … and this one too
CREATE TABLE "a__b".c (id int PRIMARY KEY, v text);   -- raw_a__b__c …
CREATE TABLE a."b__c" (id int PRIMARY KEY, v text);   -- … twice
CREATE TABLE "a_".b (id int PRIMARY KEY, v text);     -- raw_a___b …
CREATE TABLE a."_b" (id int PRIMARY KEY, v text);     -- … twice
CREATE TABLE "a.b".c (id int PRIMARY KEY, v text);    -- state key a.b.c …
CREATE TABLE a."b.c" (id int PRIMARY KEY, v text);    -- … twice
CREATE TABLE "select" (id int PRIMARY KEY, v text, "from" int, "order" text, "group" text, "table" text);
CREATE TABLE n23456789012345678901234567890123456789012345678901234567890123 (id int PRIMARY KEY, v text,
  c23456789012345678901234567890123456789012345678901234567890123 text);
CREATE TABLE "заказы" (id int PRIMARY KEY, v text, "цена" numeric(10,2));
CREATE TABLE U&"tab\0009name" (id int PRIMARY KEY, v text);
CREATE TABLE "dot.ted name" (id int PRIMARY KEY, v text);
CREATE TABLE :"long_schema".:"long_table" (id int PRIMARY KEY, v text, :"long_table" text);

-- The test's own helpers (not published: functions are not tables).
CREATE FUNCTION each_table(stmt text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
  LOOP EXECUTE format(stmt, r.schemaname, r.tablename); END LOOP;
END $$;
CREATE FUNCTION live_rows(s text, t text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN EXECUTE format('SELECT count(*) FROM %I.%I', s, t) INTO n; RETURN n; END $$;

SELECT each_table($$INSERT INTO %I.%I (id, v) SELECT g, 'row ' || g FROM generate_series(1, 50) g$$);
UPDATE "it's ""q"" `b`\s" SET "it's" = 'it''s', "back\slash" = E'\\', U&"tab\0009col" = id, "x`y" = '`',
  U&"nl\000Acol" = E'a\nb', "dot.col" = '.', "sp ace" = ' ', "ключ" = 'значение', U&"ctl\0001\001F" = 'c';
CREATE PUBLICATION streamshop FOR ALL TABLES;
SQL

start_replicate
wait_streaming
log "streaming inserts, updates and deletes in every table"
pg -c "SELECT each_table(\$\$INSERT INTO %I.%I (id, v) SELECT g, 'new ' || g FROM generate_series(51, 80) g\$\$)" \
   -c "SELECT each_table(\$\$UPDATE %I.%I SET v = v || ' updated' WHERE id %% 3 = 0\$\$)" \
   -c "SELECT each_table(\$\$DELETE FROM %I.%I WHERE id %% 5 = 0\$\$)" \
   -c "UPDATE \"it's \"\"q\"\" \`b\`\\s\" SET \"it's\" = 'streamed', \"back\\slash\" = NULL WHERE id < 10" >/dev/null
verify 90
stop_replicate

log "restart: no table may stop, changes keep flowing"
start_replicate
wait_until 60 "replicate did not reach streaming after the restart" \
  bash -c "(( \$(grep -c 'streaming changes' '$LOG_DIR/replicate.log') >= 2 ))"
if grep -E "replication of .* stopped|adding column|is missing in ClickHouse" "$LOG_DIR/replicate.log"; then
  fail "a table stopped, was altered or was copied again on restart (its names were misread from ClickHouse)"
fi
pg -c "SELECT each_table(\$\$UPDATE %I.%I SET v = 'after restart' WHERE id %% 7 = 0\$\$)" \
   -c "SELECT each_table(\$\$DELETE FROM %I.%I WHERE id %% 11 = 0\$\$)" \
   -c "SELECT each_table(\$\$INSERT INTO %I.%I (id, v) VALUES (1000, 'after restart')\$\$)" >/dev/null
verify 90
cat "$LOG_DIR/verify.out"
stop_replicate

log "raw tables under their documented names"
# ClickHouse backtick quoting, written here independently of the product's QuoteIdent.
ch_ident() { local s=${1//\\/\\\\}; printf '`%s`' "${s//\`/\\\`}"; }
ch_live_rows() { ch "SELECT count() FROM analytics.$(ch_ident "$1") FINAL WHERE _deleted = 0"; }
pg_live_rows() { pg -v s="$1" -v t="$2" <<<"SELECT live_rows(:'s', :'t');"; }
check() {  # SCHEMA TABLE CLICKHOUSE_NAME
  local want got
  want=$(pg_live_rows "$1" "$2")
  got=$(ch_live_rows "$3") || fail "no ClickHouse table '$3' for $1.$2"
  [[ "$got" == "$want" ]] || fail "$1.$2: $want rows in PostgreSQL, $got in ClickHouse table '$3'"
  if [[ $3 != *%h* ]]; then  # the test library's copy of the rule (used by independent_compare) agrees
    [[ "$(raw_table_name "$1" "$2")" == "$3" ]] || fail "lib.sh raw_table_name gives another name for $1.$2"
  fi
}
check public "it's \"q\" \`b\`\\s" "raw_it's \"q\" \`b\`\\s"
check public a__b 'raw_a%5F%5Fb'
check a b raw_a__b
check a__b c 'raw_a%5F%5Fb__c'
check a b__c 'raw_a__b%5F%5Fc'
check a_ b 'raw_a%5F__b'
check a _b raw_a___b
check a.b c raw_a.b__c
check a b.c raw_a__b.c
check public select raw_select
check public $NAME63 raw_$NAME63
check public заказы raw_заказы
check public $'tab\tname' $'raw_tab\tname'
check public 'dot.ted name' 'raw_dot.ted name'
long=$(ch "SELECT name FROM system.tables WHERE database = 'analytics' AND name LIKE 'raw_сссссссссс%' FORMAT TSVRaw")
[[ "$long" == *%h* && $(wc -l <<<"$long") == 1 ]] || fail "long unicode name: expected one hashed raw_ table, got '$long'"
check "$LONG_SCHEMA" "$LONG_TABLE" "$long"
tables=$(ch "SELECT count() FROM system.tables WHERE database = 'analytics' AND name LIKE 'raw\\_%'")
[[ "$tables" == 15 ]] || fail "expected 15 raw_ tables (one per PostgreSQL table), found $tables"
log "columns keep their PostgreSQL names byte for byte"
cols=$(ch "SELECT count() FROM system.columns WHERE database = 'analytics' AND name IN ('it''s', 'back\\\\slash',
  'tab\\tcol', 'x\`y', 'nl\\ncol', 'dot.col', 'sp ace', 'ключ', 'ctl\\x01\\x1F')")
[[ "$cols" == 9 ]] || fail "expected the 9 awkward column names in ClickHouse, found $cols"

log "a column named like a MergeTree virtual column is refused by name; the other tables keep flowing"
pg -c 'CREATE TABLE virt (id int PRIMARY KEY, _part text)' -c "INSERT INTO virt VALUES (1, 'mine')"
start_replicate
wait_until 60 "replicate did not reach streaming (third session)" \
  bash -c "(( \$(grep -c 'streaming changes' '$LOG_DIR/replicate.log') >= 3 ))"
pg -c "INSERT INTO \"select\" (id, v) VALUES (2000, 'still flowing')"
flowing() { [[ "$(ch "SELECT count() FROM analytics.raw_select FINAL WHERE id = 2000 AND _deleted = 0")" == 1 ]]; }
wait_until 30 "other tables stopped flowing after a refused table" flowing
grep -q "public.virt column _part: ClickHouse cannot hold a column of this name" "$LOG_DIR/replicate.log" ||
  fail "the refused column was not named in the log"
[[ -z "$(ch "SELECT name FROM system.tables WHERE database = 'analytics' AND name = 'raw_virt'")" ]] ||
  fail "raw_virt was created although ClickHouse 18.16 would read _part back as the part name"
stop_replicate
