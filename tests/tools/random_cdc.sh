# Random CDC round generator for tests/integration/test_random_diff.sh (bash, sourced; deterministic per seed).
#
# gen_round SEED FEATURES writes three SQL files into $GEN_DIR: setup.sql (schemas, tables, initial rows, the
# publication), work1.sql and work2.sql (a workload with interleaved DDL; replicate may be restarted between
# them). The same SEED and FEATURES always give the same files (own LCG; no $RANDOM, no subshells).
#
# What a round draws:
#   - 1–2 schemas and 2–4 tables, names from a pool of hostile-but-legal identifiers (feature `names`: quotes,
#     backticks, backslashes, dots, spaces, tabs, unicode, reserved words, 63-byte names, mixed case, `a__b`);
#   - composite primary keys of 1–3 columns (int4, int8, text, uuid) whose text values look like separators
#     (`, b=`, `=`, `'`, `\`, `\N`, empty string) when feature `sepkeys` is on;
#   - non-key columns of the supported types (docs/TYPE_MAPPING.md), extreme values, NULLs;
#   - a publication with column lists (`collist`), row filters on key columns (`rowfilter`), hash-partitioned
#     tables published via their root (`partroot`) or their leaves (`partleaf`);
#   - a workload of inserts, updates, deletes, primary-key updates (`keychange`), large TOASTed text updated and
#     left unchanged (`toast`), truncates (`truncate`), multi-statement transactions;
#   - DDL (`ddl`): add column (`recopy`: also with a default, which makes replicate copy the table again), drop
#     column, widen (int2→int4→int8, float4→float8, varchar→text, numeric(10,2)→numeric(14,2), int→text);
#     `retype`: an incompatible change (int → boolean, numeric rescale) and back; `nan`: numeric NaN values;
#     `ddlquiet`: no change of the table follows a DDL statement.
# Every feature name is listed in RANDOM_DIFF_ALL_FEATURES.

RANDOM_DIFF_ALL_FEATURES=names,sepkeys,keychange,toast,truncate,ddl,collist,rowfilter,partroot,partleaf,retype,nan
RANDOM_DIFF_ALL_FEATURES+=,ddlquiet,recopy

# --- deterministic random numbers ---------------------------------------------------------------------------------
RNG=1
rng_seed() { RNG=$((($1 * 2654435761 + 97) & 0x7fffffff)); }
# rnd N: R = a number in [0, N).
rnd() {
  RNG=$(((RNG * 1103515245 + 12345) & 0x7fffffff))
  R=$(((RNG >> 4) % $1))
}
# chance P: succeeds with probability P percent.
chance() {
  rnd 100
  ((R < $1))
}
# pick ARRAY_NAME: REPLY = a random element.
pick() {
  local -n _arr=$1
  rnd ${#_arr[@]}
  REPLY=${_arr[R]}
}
has() { [[ ",$GEN_FEATURES," == *",$1,"* ]]; }

# --- quoting ------------------------------------------------------------------------------------------------------
qi() { REPLY="\"${1//\"/\"\"}\""; }   # PostgreSQL identifier
ql() { REPLY="'${1//\'/\'\'}'"; }     # PostgreSQL string literal (standard_conforming_strings = on)

# --- pools --------------------------------------------------------------------------------------------------------
LONG63=$(printf 'n%.0s' {1..63})
LONGU=$(printf 'ü%.0s' {1..31})x # 63 bytes
# Not here: _version, _deleted, _synced_at (streamshop's own columns; a table using them is refused by name).
HOSTILE_NAMES=('Mixed Case' 'with space' 'quote"inside' 'back`tick' 'back\slash' 'dot.ted' $'tab\there' 'select'
  'order' 'user' 'from' 'ünïcödé' '日本語' "$LONG63" "$LONGU" "it's" 'a__b' 'UPPER' 'semi;colon' '%s{}' 'dollar$1'
  'comma,name' 'eq=name' '-dash' '1digit' 'raw_x' '_Version' $'new\nline' '\N' 'sp ' '"' '`' 'ß')
PLAIN_NAMES=(alpha beta gamma delta items ledger notes accounts events orders stock parcels)
# Text values that look like separators of rendered keys, COPY text or TSV.
SEP_TEXTS=(', b=' '=' "'" '\' '' '\N' $'a\tb' $'line\nbreak' 'k=v, b=w' '"' ',' ' ' '\\' 'NULL' 'ü' '日本'
  '(1,2)' '{a,b}' 'a\tb')
PLAIN_TEXTS=(apple pear plum fig kiwi lime lemon mango)
NONKEY_TYPES=(int2 int4 int8 'numeric(10,2)' float8 float4 text 'varchar(30)' bool date timestamp timestamptz uuid
  bytea jsonb)
KEY_TYPES=(int4 int8 text text uuid)
UUIDS=(00000000-0000-0000-0000-000000000000 ffffffff-ffff-ffff-ffff-ffffffffffff
  a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 123e4567-e89b-12d3-a456-426614174000)

# --- values -------------------------------------------------------------------------------------------------------
# val TYPE KEY(0/1): REPLY = an SQL expression of that type.
val() {
  local t=$1 key=$2
  if ((key == 0)) && chance 10; then
    REPLY=NULL
    return
  fi
  case $t in
    int2)
      local a=(0 1 -1 32767 -32768)
      if chance 50; then pick a; else rnd 2000 && REPLY=$((R - 1000)); fi
      ;;
    int4)
      if ((key)); then rnd 12 && REPLY=$((R - 3)) && return; fi
      local a=(0 7 -7 2147483647 -2147483648)
      if chance 40; then pick a; else rnd 1000000 && REPLY=$((R - 500000)); fi
      ;;
    int8)
      if ((key)); then local k=(0 1 -1 9223372036854775807 -9223372036854775808 4294967296) && pick k && return; fi
      local a=(0 9223372036854775807 -9223372036854775808 4294967296)
      if chance 40; then pick a; else rnd 1000000 && REPLY=$((R * 1000003 - 7)); fi
      ;;
    numeric*)
      local a=(0 -0.01 99999999.99 -99999999.99 0.5)
      if has nan && chance 15; then REPLY="'NaN'"; elif chance 40; then pick a; else rnd 100000 && REPLY="$R.$((R % 100))"; fi
      ;;
    float8)
      local a=("'NaN'" "'Infinity'" "'-Infinity'" 0.1 "'-0'" 1.7976931348623157e308 5e-324 1e-310)
      if chance 50; then pick a; else rnd 100000 && REPLY="$R.25e-3"; fi
      ;;
    float4)
      local a=("'NaN'" 3.4028235e38 1.4e-45 0.1 "'-Infinity'")
      if chance 50; then pick a; else rnd 100000 && REPLY="$R.5"; fi
      ;;
    text | varchar*)
      if ((key)) && has sepkeys; then pick SEP_TEXTS; elif ((key)); then pick PLAIN_TEXTS;
      elif has sepkeys && chance 50; then pick SEP_TEXTS; else pick PLAIN_TEXTS; fi
      ql "$REPLY"
      ;;
    bool)
      local a=(true false)
      pick a
      ;;
    date)
      local a=(2024-02-29 1970-01-01 1969-12-31 '0044-03-15 BC' infinity -infinity 9999-12-31 2000-01-01)
      pick a && ql "$REPLY" && REPLY+=::date
      ;;
    timestamp)
      local a=('2024-02-29 23:59:59.999999' '1970-01-01 00:00:00' '0001-01-01 00:00:00 BC' infinity -infinity
        '1899-12-31 12:00:00.5' '2262-04-11 23:47:16.854775')
      pick a && ql "$REPLY" && REPLY+=::timestamp
      ;;
    timestamptz)
      local a=('2024-06-01 12:00:00+05:30' infinity '1960-01-01 00:00:00-08' '2038-01-19 03:14:08+00')
      pick a && ql "$REPLY" && REPLY+=::timestamptz
      ;;
    uuid)
      pick UUIDS && ql "$REPLY" && REPLY+=::uuid
      ;;
    bytea)
      local a=('\x' '\x00' '\x5c4e' '\x0a09' '\xdeadbeef' '\x5c')
      pick a && ql "$REPLY" && REPLY+=::bytea
      ;;
    jsonb)
      local a=('{}' '{"a": "x\"y"}' '[1, 2.50, null]' '"\u00fc"' '{"k": "\t", "b=": ", b="}')
      pick a && ql "$REPLY" && REPLY+=::jsonb
      ;;
    boolean)
      local a=(true false)
      pick a
      ;;
    *) REPLY=NULL ;;
  esac
}

# A TOASTed value: ~9.6 kB of hex that does not compress below the TOAST threshold.
toast_val() {
  rnd 100000
  REPLY="(SELECT string_agg(md5(g::text || '$R'), '') FROM generate_series(1, 300) g)"
}

# --- schema model -------------------------------------------------------------------------------------------------
# Tables 0..NT-1: T_SCHEMA, T_NAME, T_PART (1 = hash-partitioned), T_NCOL; columns "t,c": C_NAME, C_TYPE, C_KEY
# (0/1), C_LIVE (0 = dropped), C_LIST (1 = in the publication's column list), C_TOAST (1 = the large text column);
# T_HASLIST (1 = the table has a column list).
declare -a T_SCHEMA T_NAME T_PART T_NCOL T_HASLIST
declare -A C_NAME C_TYPE C_KEY C_LIVE C_LIST C_TOAST USED
NT=0

# fresh_name KIND: REPLY = an identifier not used yet in KIND's scope.
fresh_name() {
  local scope=$1 i
  for i in 1 2 3 4 5 6; do
    if has names && chance 80; then pick HOSTILE_NAMES; else pick PLAIN_NAMES; fi
    [[ -z ${USED["$scope/$REPLY"]:-} ]] && break
    REPLY=""
  done
  [[ -n $REPLY ]] || REPLY="n$RNG"
  USED["$scope/$REPLY"]=1
}

tq() { # tq T: REPLY = the quoted qualified name of table T
  local s
  qi "${T_SCHEMA[$1]}" && s=$REPLY && qi "${T_NAME[$1]}" && REPLY="$s.$REPLY"
}
cq() { qi "${C_NAME["$1,$2"]}"; }

# key_where T: REPLY = "k1 = v1 AND …" for a random key of T.
key_where() {
  local t=$1 c w="" q
  for ((c = 0; c < T_NCOL[t]; c++)); do
    ((C_KEY["$t,$c"])) || continue
    cq "$t" "$c" && q=$REPLY
    val "${C_TYPE["$t,$c"]}" 1
    w+="${w:+ AND }$q = $REPLY"
  done
  REPLY=$w
}

# live_col T KIND(key|nonkey|any|int|droppable): R = a matching column or -1.
live_col() {
  local t=$1 kind=$2 c cands=()
  for ((c = 0; c < T_NCOL[t]; c++)); do
    ((C_LIVE["$t,$c"])) || continue
    case $kind in
      key) ((C_KEY["$t,$c"])) || continue ;;
      nonkey) ((C_KEY["$t,$c"] == 0)) || continue ;;
      droppable) ((C_KEY["$t,$c"] == 0 && C_TOAST["$t,$c"] == 0 && (C_LIST["$t,$c"] == 0 || T_HASLIST[t] == 0))) || continue ;;
    esac
    cands+=("$c")
  done
  if ((${#cands[@]} == 0)); then R=-1; else pick cands && R=$REPLY; fi
}

gen_tables() {
  local nschemas=1 s schemas=() t c nk
  has names && chance 50 && nschemas=2
  for ((s = 0; s < nschemas; s++)); do
    if ((s == 0)) && chance 30; then schemas+=(public); else fresh_name schema && schemas+=("$REPLY"); fi
  done
  for s in "${schemas[@]}"; do [[ $s == public ]] || { qi "$s" && SQL+="CREATE SCHEMA $REPLY;"$'\n'; }; done
  rnd 3 && NT=$((R + 2))
  for ((t = 0; t < NT; t++)); do
    pick schemas && T_SCHEMA[t]=$REPLY
    fresh_name "table/${T_SCHEMA[t]}" && T_NAME[t]=$REPLY
    T_PART[t]=0
    if (has partroot || has partleaf) && chance 40; then T_PART[t]=1; fi
    rnd 3 && nk=$((R + 1))
    rnd 4 && T_NCOL[t]=$((nk + R + 1))
    T_HASLIST[t]=0
    for ((c = 0; c < T_NCOL[t]; c++)); do
      fresh_name "col/$t" && C_NAME["$t,$c"]=$REPLY
      C_LIVE["$t,$c"]=1 C_LIST["$t,$c"]=1 C_TOAST["$t,$c"]=0
      if ((c < nk)); then
        C_KEY["$t,$c"]=1 && pick KEY_TYPES && C_TYPE["$t,$c"]=$REPLY
      else
        C_KEY["$t,$c"]=0 && pick NONKEY_TYPES && C_TYPE["$t,$c"]=$REPLY
      fi
    done
    if has toast && chance 60; then
      fresh_name "col/$t" && C_NAME["$t,$c"]=$REPLY
      C_KEY["$t,$c"]=0 C_LIVE["$t,$c"]=1 C_LIST["$t,$c"]=1 C_TOAST["$t,$c"]=1 C_TYPE["$t,$c"]=text
      T_NCOL[t]=$((c + 1))
    fi
    local defs="" keys=""
    for ((c = 0; c < T_NCOL[t]; c++)); do
      cq "$t" "$c"
      defs+="${defs:+, }$REPLY ${C_TYPE["$t,$c"]}"
      ((C_KEY["$t,$c"])) && keys+="${keys:+, }$REPLY"
    done
    tq "$t"
    local tname=$REPLY
    if ((T_PART[t])); then
      cq "$t" 0
      SQL+="CREATE TABLE $tname ($defs, PRIMARY KEY ($keys)) PARTITION BY HASH ($REPLY);"$'\n'
      local p
      for p in 0 1; do
        fresh_name "table/${T_SCHEMA[t]}" && qi "$REPLY"
        local leaf=$REPLY
        qi "${T_SCHEMA[t]}"
        SQL+="CREATE TABLE $REPLY.$leaf PARTITION OF $tname FOR VALUES WITH (MODULUS 2, REMAINDER $p);"$'\n'
      done
    else
      SQL+="CREATE TABLE $tname ($defs, PRIMARY KEY ($keys));"$'\n'
    fi
  done
}

gen_publication() {
  local pub=$1 t c items="" any_part=0 via=0
  for ((t = 0; t < NT; t++)); do ((T_PART[t])) && any_part=1; done
  if ((any_part)) && has partroot && { ! has partleaf || chance 50; }; then via=1; fi
  for ((t = 0; t < NT; t++)); do
    tq "$t"
    local item=$REPLY
    # PostgreSQL allows column lists and row filters on a partitioned table only when published via its root.
    if has collist && ((T_PART[t] == 0 || via)) && chance 40; then
      local list=""
      T_HASLIST[t]=1
      for ((c = 0; c < T_NCOL[t]; c++)); do
        if ((C_KEY["$t,$c"] == 0)) && chance 40; then C_LIST["$t,$c"]=0 && continue; fi
        cq "$t" "$c" && list+="${list:+, }$REPLY"
      done
      item+=" ($list)"
    fi
    if has rowfilter && ((T_PART[t] == 0 || via)) && chance 40; then
      cq "$t" 0
      local k=$REPLY
      val "${C_TYPE["$t,0"]}" 1
      local ops=('<>' '>=' '<' '=')
      local v=$REPLY
      pick ops
      item+=" WHERE ($k $REPLY $v)"
    fi
    items+="${items:+, }$item"
  done
  qi "$pub"
  SQL+="CREATE PUBLICATION $REPLY FOR TABLE $items"
  ((via == 0)) || SQL+=" WITH (publish_via_partition_root = true)"
  SQL+=";"$'\n'
}

gen_insert() {
  local t=$1 c cols="" vals=""
  for ((c = 0; c < T_NCOL[t]; c++)); do
    ((C_LIVE["$t,$c"])) || continue
    cq "$t" "$c" && cols+="${cols:+, }$REPLY"
    if ((C_TOAST["$t,$c"])) && chance 70; then toast_val; else val "${C_TYPE["$t,$c"]}" "${C_KEY["$t,$c"]}"; fi
    vals+="${vals:+, }$REPLY"
  done
  tq "$t"
  SQL+="INSERT INTO $REPLY ($cols) VALUES ($vals) ON CONFLICT DO NOTHING;"$'\n'
}

gen_update() {
  local t=$1 c set=""
  live_col "$t" nonkey
  ((R >= 0)) || return 0
  c=$R
  cq "$t" "$c"
  local col=$REPLY
  if ((C_TOAST["$t,$c"])); then toast_val; else val "${C_TYPE["$t,$c"]}" 0; fi
  set="$col = $REPLY"
  key_where "$t"
  local w=$REPLY
  chance 20 && w="true" # every row: many unchanged TOAST values in one transaction
  tq "$t"
  SQL+="UPDATE $REPLY SET $set WHERE $w;"$'\n'
}

gen_key_change() {
  local t=$1
  live_col "$t" key
  local c=$R
  cq "$t" "$c"
  local col=$REPLY
  val "${C_TYPE["$t,$c"]}" 1
  local nv=$REPLY
  key_where "$t"
  local w=$REPLY
  # The new key must be free: the same key with column c replaced.
  local free="" k q
  for ((k = 0; k < T_NCOL[t]; k++)); do
    ((C_KEY["$t,$k"])) || continue
    cq "$t" "$k" && q=$REPLY
    if ((k == c)); then free+="${free:+ AND }o.$q = $nv"; else free+="${free:+ AND }o.$q = x.$q"; fi
  done
  tq "$t"
  SQL+="UPDATE $REPLY x SET $col = $nv WHERE $w AND NOT EXISTS (SELECT 1 FROM $REPLY o WHERE $free);"$'\n'
}

gen_delete() {
  local t=$1
  key_where "$t"
  local w=$REPLY
  tq "$t"
  SQL+="DELETE FROM $REPLY WHERE $w;"$'\n'
}

# gen_ddl T: one schema change of table T.
gen_ddl() {
  local t=$1 c kind
  tq "$t"
  local tn=$REPLY
  rnd 5
  kind=$R
  case $kind in
    0 | 1) # add a column, with a default half of the time
      c=${T_NCOL[t]}
      fresh_name "col/$t" && C_NAME["$t,$c"]=$REPLY
      pick NONKEY_TYPES && C_TYPE["$t,$c"]=$REPLY
      C_KEY["$t,$c"]=0 C_LIVE["$t,$c"]=1 C_TOAST["$t,$c"]=0
      C_LIST["$t,$c"]=$((T_HASLIST[t] ? 0 : 1)) # not in an existing column list
      T_NCOL[t]=$((c + 1))
      cq "$t" "$c"
      local col=$REPLY def=""
      if ((kind == 1)) && has recopy; then
        val "${C_TYPE["$t,$c"]}" 1
        [[ $REPLY == NULL ]] || def=" DEFAULT $REPLY"
      fi
      SQL+="ALTER TABLE $tn ADD COLUMN $col ${C_TYPE["$t,$c"]}$def;"$'\n'
      ;;
    2) # drop a column
      live_col "$t" droppable
      ((R >= 0)) || return 0
      c=$R
      local n=0 k
      for ((k = 0; k < T_NCOL[t]; k++)); do ((C_LIVE["$t,$k"] && !C_KEY["$t,$k"])) && n=$((n + 1)); done
      ((n > 1)) || return 0
      C_LIVE["$t,$c"]=0
      cq "$t" "$c"
      SQL+="ALTER TABLE $tn DROP COLUMN $REPLY;"$'\n'
      ;;
    3 | 4) # widen, or (retype) an incompatible change and back
      live_col "$t" nonkey
      ((R >= 0)) || return 0
      c=$R
      ((C_TOAST["$t,$c"] == 0)) || return 0
      # PostgreSQL refuses to change the type of a column named in a column list.
      ((T_HASLIST[t] == 0 || C_LIST["$t,$c"] == 0)) || return 0
      cq "$t" "$c"
      local col=$REPLY ty=${C_TYPE["$t,$c"]} to=""
      if has retype && ((kind == 4)); then
        case $ty in
          int2 | int4 | int8)
            # A default (a column added with one) cannot be cast to boolean: PostgreSQL refuses the change.
            SQL+="ALTER TABLE $tn ALTER COLUMN $col DROP DEFAULT;"$'\n'
            SQL+="ALTER TABLE $tn ALTER COLUMN $col TYPE boolean USING $col <> 0;"$'\n'
            C_TYPE["$t,$c"]=boolean
            gen_ops 6
            SQL+="ALTER TABLE $tn ALTER COLUMN $col TYPE $ty USING $col::int;"$'\n'
            C_TYPE["$t,$c"]=$ty
            return 0
            ;;
          numeric*)
            SQL+="ALTER TABLE $tn ALTER COLUMN $col TYPE numeric(12,4);"$'\n'
            gen_ops 6
            SQL+="ALTER TABLE $tn ALTER COLUMN $col TYPE $ty;"$'\n'
            return 0
            ;;
        esac
      fi
      case $ty in
        int2) to=int4 ;;
        int4) if chance 50; then to=int8; else to=text; fi ;;
        int8) to=text ;;
        float4) to=float8 ;;
        'varchar(30)') to=text ;;
        'numeric(10,2)') to='numeric(14,2)' ;;
        *) return 0 ;;
      esac
      SQL+="ALTER TABLE $tn ALTER COLUMN $col TYPE $to;"$'\n'
      C_TYPE["$t,$c"]=$to
      ;;
  esac
}

# gen_ops N: N workload operations over random tables, some grouped in transactions.
gen_ops() {
  local n=$1 i t in_tx=0
  for ((i = 0; i < n; i++)); do
    rnd "$NT" && t=$R
    if ((in_tx == 0)) && chance 10; then SQL+="BEGIN;"$'\n' && in_tx=1; fi
    rnd 100
    if ((R < 40)); then gen_insert "$t"
    elif ((R < 65)); then gen_update "$t"
    elif ((R < 78)); then if has keychange; then gen_key_change "$t"; else gen_update "$t"; fi
    elif ((R < 92)); then gen_delete "$t"
    elif ((R < 94)) && has truncate && ((in_tx == 0)); then tq "$t" && SQL+="TRUNCATE $REPLY;"$'\n'
    else gen_insert "$t"; fi
    if ((in_tx)) && chance 25; then SQL+="COMMIT;"$'\n' && in_tx=0; fi
  done
  ((in_tx == 0)) || SQL+="COMMIT;"$'\n'
}

gen_workload() {
  local n=$1 i t
  for ((i = 0; i < n; i += 20)); do
    gen_ops 20
    if has ddl && chance 25; then
      rnd "$NT" && t=$R && gen_ddl "$t"
      # A change after the DDL brings its Relation message to the pipeline (ddlquiet leaves it out)
      has ddlquiet || { tq "$t" && local tn=$REPLY && cq "$t" 0 && SQL+="UPDATE $tn SET $REPLY = $REPLY;"$'\n'; }
    fi
  done
}

# gen_round SEED FEATURES PUBLICATION: writes $GEN_DIR/{setup,work1,work2}.sql.
gen_round() {
  rng_seed "$1"
  GEN_FEATURES=$2
  T_SCHEMA=() T_NAME=() T_PART=() T_NCOL=() T_HASLIST=()
  C_NAME=() C_TYPE=() C_KEY=() C_LIVE=() C_LIST=() C_TOAST=() USED=()
  SQL=""
  gen_tables
  local t i
  for ((t = 0; t < NT; t++)); do for ((i = 0; i < 15; i++)); do gen_insert "$t"; done; done
  gen_publication "$3"
  printf '%s' "$SQL" >"$GEN_DIR/setup.sql"
  SQL="" && gen_workload 160 && printf '%s' "$SQL" >"$GEN_DIR/work1.sql"
  SQL="" && gen_workload 160
  for ((t = 0; t < NT; t++)); do gen_insert "$t"; done # rarely leaves every table empty
  printf '%s' "$SQL" >"$GEN_DIR/work2.sql"
}
