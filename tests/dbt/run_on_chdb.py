#!/usr/bin/env python3
"""Runs a compiled dbt project on chdb (in-process ClickHouse), the way `dbt build` would on a ClickHouse server.

dbt-clickhouse needs a ClickHouse server >= 22 to connect to, and the server on these machines is 18.16. chdb is
the modern ClickHouse engine available here, but it is a library, not a server, and no dbt adapter for it exists
on PyPI. So CI splits `dbt build` in two:
  1. the real dbt (dbt-core + dbt-clickhouse) parses and compiles the project (`dbt compile --no-populate-cache`
     contacts no server): target/manifest.json then holds every model's and test's SQL as dbt-clickhouse renders it;
  2. this harness executes that SQL on chdb: models in dependency order, materialised with the DDL shapes
     dbt-clickhouse uses (view: `create or replace view … as (…)`; table: `create table … engine = …
     order by (…) empty as (…)` then `insert into … <sql>`), then every test wrapped exactly like dbt-clickhouse's
     get_test_sql (`select <fail_calc> as failures, <fail_calc> <warn_if> as should_warn, <fail_calc> <error_if> as
     should_error from (<test sql>) dbt_internal_test`), honouring each test's severity.

Subcommands (each opens the persistent chdb session directory given by --session):
  load-raw  --raw-dir DIR [--database analytics]
            Creates the raw_* tables in the MODERN dialect (docs/TYPE_MAPPING.md) and loads the rows exported from
            a legacy (< 23.2) server. DIR holds, per table T: T.columns (DESCRIBE TABLE output of the legacy table,
            TSV), T.bin (all its rows, every version and delete, FORMAT RowBinary), T.tsv (the same rows, FORMAT
            TSV, for the check), plus pg_columns.tsv (table, column, PostgreSQL format_type, primary-key position)
            and server_timezone (the legacy server's timezone(), in which its TSV prints DateTime).
            Legacy encodings become modern types: UInt8 → Bool (boolean), Int32 days → Date32 (date), Int64 µs →
            DateTime64(6) (timestamp) / DateTime64(6, 'UTC') (timestamptz). These are exactly the bytes a modern
            server's column holds (RowBinary of Bool/Date32/DateTime64(6) is UInt8/Int32/Int64), so the rows are
            read from the RowBinary export with the modern structure; then every row is converted back to the
            legacy encoding and compared with the server's TSV export, and any difference fails the load.
            Engine ReplacingMergeTree(_version, _deleted) ORDER BY the PostgreSQL primary key, as the sink creates
            on a modern server.
  build     --target DIR
            Executes the models and tests of DIR/manifest.json (written by `dbt compile`). Prints one line per
            node and a dbt-style summary. A model with an enforced contract is checked against it first (column
            names and exact types of its SQL, as dbt-clickhouse checks them) and built with the contract's column
            list. Snapshots and the tests on them are skipped: they need history kept across runs in a live
            warehouse, which this export-and-rebuild path does not have. Exit 0 when every model built and no
            error-severity test failed, 1 when a test failed, 2 when a model failed or broke its contract (or the
            manifest asks for something the harness cannot do).
  query     SQL [--format TSV]
            Runs one statement and prints its result (used by the test for checks and fixture injection).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

from chdb import ChdbError
from chdb import session as chdb_session

# Materializations the harness reproduces, and the config keys it knows: each either does not change the SQL
# dbt-clickhouse runs, or is reproduced (engine, order_by, …) or refused (hooks, settings, …) by the code below.
# Any other key set to a non-default value could change what dbt-clickhouse runs, so the harness refuses it rather
# than silently building something else.
MATERIALIZATIONS = {"view", "table"}
KNOWN_CONFIGS = {
    "enabled", "alias", "schema", "database", "tags", "meta", "docs", "persist_docs", "column_types", "quoting",
    "full_refresh", "on_schema_change", "on_configuration_change", "grants", "packages", "contract", "access",
    "group", "materialized", "engine", "order_by", "partition_by", "primary_key", "unique_key", "incremental_strategy",
    "pre-hook", "post-hook", "batch_size", "lookback", "concurrent_batches", "event_time", "begin", "freshness",
    "severity", "store_failures", "store_failures_as", "where", "limit", "fail_calc", "warn_if", "error_if",
    "sql_header", "settings", "query_settings", "catalog_name",
}


class HarnessError(Exception):
    pass


def quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """A chdb session in a directory (persists between invocations)."""

    def __init__(self, path: str):
        self.session = chdb_session.Session(path)

    def run(self, sql: str, fmt: str = "TSV") -> str:
        result = self.session.query(sql, fmt)
        return result.bytes().decode("utf-8") if result is not None else ""

    def close(self) -> None:
        self.session.close()


# ---------------------------------------------------------------------------------------------------- load-raw

def split_nullable(t: str) -> tuple[bool, str]:
    m = re.fullmatch(r"Nullable\((.*)\)", t)
    return (True, m.group(1)) if m else (False, t)


def modern_type(table: str, column: str, legacy: str, pg_type: str | None) -> str:
    """The modern-dialect type of a legacy column (docs/TYPE_MAPPING.md); columns not from PostgreSQL keep theirs."""
    nullable, base = split_nullable(legacy)
    expected_legacy = {"boolean": "UInt8", "date": "Int32", "timestamp without time zone": "Int64",
                       "timestamp with time zone": "Int64"}
    modern = {"boolean": "Bool", "date": "Date32", "timestamp without time zone": "DateTime64(6)",
              "timestamp with time zone": "DateTime64(6, 'UTC')"}
    if pg_type is None:
        new_base = base
    elif pg_type in modern:
        if base != expected_legacy[pg_type]:
            raise HarnessError(f"{table}.{column}: PostgreSQL {pg_type} should be legacy {expected_legacy[pg_type]}, "
                               f"the server has {legacy}")
        new_base = modern[pg_type]
    else:
        new_base = base
    return f"Nullable({new_base})" if nullable else new_base


def check_exprs(column: str, legacy: str, modern: str, server_tz: str) -> tuple[str, str, str]:
    """For the round-trip check: (expression over the loaded modern column giving the legacy encoding, type to read
    the legacy TSV export with, expression over that export). DateTime text is read in the legacy server's time
    zone and both sides compared as Unix seconds, so no time zone setting of this process matters."""
    c = quote_ident(column)
    nullable, legacy_base = split_nullable(legacy)
    _, base = split_nullable(modern)
    if legacy_base == "DateTime":
        tsv_type = f"DateTime({quote_string(server_tz)})"
        return f"toUInt32({c})", f"Nullable({tsv_type})" if nullable else tsv_type, f"toUInt32({c})"
    if base == "Bool":
        return f"toUInt8({c})", legacy, c
    if base == "Date32":
        return f"toInt32({c})", legacy, c
    if base.startswith("DateTime64(6"):
        return f"toUnixTimestamp64Micro({c})", legacy, c
    return c, legacy, c


def read_tsv(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


# analytics.outbox_events, written by `replicate --outbox-table` (src/clickhouse/OutboxWriter.h): exported like a raw
# table when the server has it, loaded with the same engine and modern types; created empty otherwise, so that the
# models over it (stg_outbox_events, fct_order_lifecycle) always have their source.
OUTBOX_TABLE = "outbox_events"
OUTBOX_EXTRAS = ("_lsn", "_commit_lsn", "_seq", "_commit_time", "_synced_at")
OUTBOX_ENGINE = "MergeTree ORDER BY (`_commit_lsn`, `_seq`)"
OUTBOX_EMPTY_COLUMNS = ("`id` Nullable(UUID), `aggregatetype` Nullable(String), `aggregateid` Nullable(String), "
                        "`type` Nullable(String), `payload` Nullable(String), "
                        "`created_at` Nullable(DateTime64(6, 'UTC')), `_lsn` UInt64, `_commit_lsn` UInt64, `_seq` UInt64, "
                        "`_commit_time` DateTime64(6, 'UTC'), `_synced_at` DateTime DEFAULT now()")


def load_raw(engine: Engine, raw_dir: str, database: str) -> None:
    with open(os.path.join(raw_dir, "server_timezone"), encoding="utf-8") as f:
        server_tz = f.read().strip()
    pg_columns: dict[str, dict[str, tuple[str, int]]] = {}
    for table, column, pg_type, pk_pos in read_tsv(os.path.join(raw_dir, "pg_columns.tsv")):
        pg_columns.setdefault(table, {})[column] = (pg_type, int(pk_pos))
    tables = sorted(f[: -len(".columns")] for f in os.listdir(raw_dir) if f.endswith(".columns"))
    if not tables:
        raise HarnessError(f"no <table>.columns files in {raw_dir}")
    engine.run(f"CREATE DATABASE IF NOT EXISTS {quote_ident(database)}")
    for raw_table in tables:
        outbox = raw_table == OUTBOX_TABLE
        pg_table = raw_table.removeprefix("raw_")
        if pg_table not in pg_columns:
            raise HarnessError(f"{raw_table}: no PostgreSQL columns for table {pg_table} in pg_columns.tsv")
        pg = pg_columns[pg_table]
        legacy_cols = [(row[0], row[1]) for row in read_tsv(os.path.join(raw_dir, raw_table + ".columns"))]
        names = [n for n, _ in legacy_cols]
        missing = [c for c in pg if c not in names]
        if missing:
            raise HarnessError(f"{raw_table}: PostgreSQL columns {missing} are not in ClickHouse")
        for extra in OUTBOX_EXTRAS if outbox else ("_version", "_deleted", "_synced_at"):
            if extra not in names:
                raise HarnessError(f"{raw_table}: the legacy table lacks {extra}")
        # _commit_time (outbox_events) is a timestamp with time zone that does not come from PostgreSQL's columns.
        modern_cols = [(n, modern_type(raw_table, n, t, "timestamp with time zone" if outbox and n == "_commit_time"
                                       else pg.get(n, (None, 0))[0])) for n, t in legacy_cols]
        key = [c for c, _ in sorted(((c, p) for c, (_, p) in pg.items() if p > 0), key=lambda x: x[1])]
        if not key:
            raise HarnessError(f"{raw_table}: PostgreSQL table {pg_table} has no primary key")
        target = f"{quote_ident(database)}.{quote_ident(raw_table)}"
        column_ddl = ",\n  ".join(
            f"{quote_ident(n)} {t}" + (" DEFAULT now()" if n == "_synced_at" else "") for n, t in modern_cols)
        engine.run(f"DROP TABLE IF EXISTS {target}")
        table_engine = (OUTBOX_ENGINE if outbox else f"ReplacingMergeTree(`_version`, `_deleted`) "
                        f"ORDER BY ({', '.join(quote_ident(k) for k in key)})")
        engine.run(f"CREATE TABLE {target} (\n  {column_ddl}\n) ENGINE = {table_engine}")
        names_sql = ", ".join(quote_ident(n) for n in names)
        modern_structure = ", ".join(f"{quote_ident(n)} {t}" for n, t in modern_cols)
        checks = [check_exprs(n, t0, t1, server_tz) for (n, t0), (_, t1) in zip(legacy_cols, modern_cols)]
        tsv_structure = ", ".join(f"{quote_ident(n)} {c[1]}" for (n, _), c in zip(legacy_cols, checks))
        bin_path = os.path.abspath(os.path.join(raw_dir, raw_table + ".bin"))
        tsv_path = os.path.abspath(os.path.join(raw_dir, raw_table + ".tsv"))
        # optimize_on_insert = 0: keep every version as exported (ReplacingMergeTree would otherwise collapse the
        # versions within the inserted block, as a merge does).
        engine.run(f"INSERT INTO {target} ({names_sql}) SETTINGS optimize_on_insert = 0 SELECT {names_sql} "
                   f"FROM file({quote_string(bin_path)}, 'RowBinary', {quote_string(modern_structure)})")

        # Check: every loaded row, converted back to the legacy encoding, equals the legacy server's text export.
        loaded = engine.run(f"SELECT {', '.join(c[0] for c in checks)} FROM {target} ORDER BY ALL")
        exported = engine.run(f"SELECT {', '.join(c[2] for c in checks)} FROM file({quote_string(tsv_path)}, 'TSV', "
                              f"{quote_string(tsv_structure)}) ORDER BY ALL")
        if loaded != exported:
            first = next((i for i, (a, b) in enumerate(zip(loaded.splitlines(), exported.splitlines())) if a != b),
                         min(loaded.count("\n"), exported.count("\n")))
            raise HarnessError(f"{raw_table}: the loaded rows, converted back to the legacy encoding, differ from "
                               f"the legacy server's TSV export ({loaded.count(chr(10))} vs {exported.count(chr(10))} "
                               f"rows); first difference, sorted row {first + 1}:\n"
                               f"  loaded:   {loaded.splitlines()[first:first + 1]}\n"
                               f"  exported: {exported.splitlines()[first:first + 1]}")
        rows = loaded.count("\n")
        converted = [f"{n} {t0} → {t1}" for (n, t0), (_, t1) in zip(legacy_cols, modern_cols) if t0 != t1]
        print(f"loaded {database}.{raw_table}: {rows} rows (all versions); "
              f"converted {', '.join(converted) if converted else 'nothing'}; round trip exact")
    if OUTBOX_TABLE not in tables:
        # No outbox exported (replicate ran without --outbox-table): the models over it see no events.
        engine.run(f"CREATE TABLE IF NOT EXISTS {quote_ident(database)}.{quote_ident(OUTBOX_TABLE)} "
                   f"({OUTBOX_EMPTY_COLUMNS}) ENGINE = {OUTBOX_ENGINE}")
        print(f"created {database}.{OUTBOX_TABLE} empty (no outbox events exported)")


# ---------------------------------------------------------------------------------------------------- build

def check_config(node: dict) -> None:
    config = node.get("config", {})
    problems = []
    for k, v in config.items():
        if k not in KNOWN_CONFIGS and v not in (None, {}, [], False, ""):
            problems.append(f"config '{k}'")
    if config.get("pre-hook") or config.get("post-hook"):
        problems.append("hooks")
    if config.get("sql_header") or config.get("settings") or config.get("query_settings"):
        problems.append("sql_header/settings/query_settings")
    if (config.get("contract") or {}).get("enforced") and config.get("materialized") != "table":
        problems.append("an enforced contract on a non-table model")
    if config.get("store_failures"):
        problems.append("store_failures")
    if problems:
        raise HarnessError(f"{node['unique_id']}: the chdb harness does not reproduce {', '.join(problems)}")


def model_order(manifest: dict) -> list[dict]:
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    done: dict[str, dict] = {}  # insertion-ordered: dependencies first
    visiting: set[str] = set()

    def visit(uid: str) -> None:
        if uid in done:
            return
        if uid in visiting:
            raise HarnessError(f"dependency cycle at {uid}")
        visiting.add(uid)
        for dep in models[uid]["depends_on"]["nodes"]:
            if dep in models:
                visit(dep)
        visiting.discard(uid)
        done[uid] = models[uid]

    for uid in sorted(models):
        visit(uid)
    return list(done.values())


def clause_list(value) -> str | None:
    if value is None or value == "" or value == []:
        return None
    items = [value] if isinstance(value, str) else list(value)
    return "(" + ", ".join(items) + ")"


class ContractError(Exception):
    pass


def contract_columns(engine: Engine, node: dict, sql: str) -> list[tuple[str, str]]:
    """The contract's (name, data_type) list, in its order, after checking the model's SQL against it the way
    dbt-clickhouse's get_assert_columns_equivalent does: the same number of columns, each column of the SQL named
    in the contract with exactly the contract's data_type (as the engine names the type)."""
    contract = [(c["name"], c.get("data_type") or "") for c in node["columns"].values()]
    if not contract:
        raise ContractError("the contract is enforced but the model declares no columns")
    described = [tuple(line.split("\t")[:2]) for line in
                 engine.run(f"DESCRIBE TABLE (\n{sql}\n)", "TSVRaw").splitlines()]
    declared = dict(contract)
    problems = [f"{name}: the SQL gives {typ}, the contract says {declared[name]}"
                for name, typ in described if name in declared and declared[name] != typ]
    problems += [f"{name}: in the SQL ({typ}), not in the contract" for name, typ in described if name not in declared]
    problems += [f"{name}: in the contract ({typ}), not in the SQL" for name, typ in contract
                 if name not in dict(described)]
    if problems:
        raise ContractError("; ".join(problems))
    return contract


def build_model(engine: Engine, node: dict) -> str:
    config = node["config"]
    materialized = config["materialized"]
    if materialized not in MATERIALIZATIONS:
        raise HarnessError(f"{node['unique_id']}: materialization '{materialized}' is not reproduced by the harness")
    sql = node.get("compiled_code")
    if sql is None:
        raise HarnessError(f"{node['unique_id']}: no compiled_code in the manifest (run `dbt compile` first)")
    relation = node["relation_name"]
    if materialized == "view":
        engine.run(f"DROP TABLE IF EXISTS {relation}")  # (drops a table or a view)
        engine.run(f"create or replace view {relation} as (\n{sql}\n)")
        return "view"
    engine_clause = config.get("engine") or "MergeTree()"
    # An enforced contract: dbt-clickhouse checks the SQL's columns against it, then creates the table with the
    # contract's column list and inserts the SQL's columns by name (create table <rel> (<col> <type>, …) …;
    # insert into <rel> (<cols>) select <cols> from (<sql>)).
    contract = contract_columns(engine, node, sql) if (config.get("contract") or {}).get("enforced") else None
    columns_ddl = ""
    if contract:
        columns_ddl = " (" + ", ".join(f"{quote_ident(n)} {t}" for n, t in contract) + ")"
    ddl = [f"create table {relation}{columns_ddl}", f"engine = {engine_clause}"]
    if "MergeTree" in engine_clause:
        ddl.append(f"order by {clause_list(config.get('order_by')) or '(tuple())'}")
    pk = clause_list(config.get("primary_key"))
    if pk:
        ddl.append(f"primary key {pk}")
    partition = clause_list(config.get("partition_by"))
    if partition:
        ddl.append(f"partition by {partition}")
    engine.run(f"DROP TABLE IF EXISTS {relation}")  # (drops a view too)
    if contract:
        names = ", ".join(quote_ident(n) for n, _ in contract)
        engine.run("\n".join(ddl))
        engine.run(f"insert into {relation} ({names})\nselect {names} from (\n{sql}\n)")
    else:
        engine.run("\n".join(ddl) + f"\nempty as (\n{sql}\n)")
        engine.run(f"insert into {relation}\n{sql}")
    rows = engine.run(f"select count() from {relation}").strip()
    return f"table, {rows} rows"


def run_test(engine: Engine, node: dict) -> tuple[str, int]:
    config = node["config"]
    sql = node.get("compiled_code")
    if sql is None:
        raise HarnessError(f"{node['unique_id']}: no compiled_code in the manifest (run `dbt compile` first)")
    fail_calc = config.get("fail_calc") or "count(*)"
    warn_if = config.get("warn_if") or "!= 0"
    error_if = config.get("error_if") or "!= 0"
    if config.get("limit") is not None:
        raise HarnessError(f"{node['unique_id']}: test config 'limit' is not reproduced by the harness")
    # Exactly dbt-clickhouse's clickhouse__get_test_sql.
    wrapped = (f"select\n  {fail_calc} as failures,\n  {fail_calc} {warn_if} as should_warn,\n"
               f"  {fail_calc} {error_if} as should_error\nfrom (\n{sql}\n) dbt_internal_test")
    failures, should_warn, should_error = engine.run(wrapped).strip().split("\t")
    severity = (config.get("severity") or "error").lower()
    if severity == "error" and should_error in ("1", "true"):
        return "FAIL", int(failures)
    if should_warn in ("1", "true"):
        return "WARN", int(failures)
    return "PASS", int(failures)


def build(engine: Engine, target_dir: str) -> int:
    with open(os.path.join(target_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    # Snapshots keep history in the warehouse across runs; this path rebuilds everything from an export, so they
    # (and the tests on them) run only where dbt-clickhouse connects to a live modern ClickHouse (docs/DBT.md).
    snapshots = sorted(uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "snapshot")
    for n in manifest["nodes"].values():
        if n["resource_type"] == "test" and set(n["depends_on"]["nodes"]) & set(snapshots):
            continue
        if n["resource_type"] in ("model", "test"):
            check_config(n)
        elif n["resource_type"] in ("seed", "analysis", "unit_test"):
            raise HarnessError(f"{n['unique_id']}: {n['resource_type']} nodes are not run by the harness")

    started = time.monotonic()
    models = model_order(manifest)
    for i, node in enumerate(models, 1):
        t0 = time.monotonic()
        try:
            what = build_model(engine, node)
        except (ChdbError, ContractError) as e:  # the engine rejected the model's SQL, or it breaks its contract
            kind = "contract" if isinstance(e, ContractError) else "database"
            print(f"{i:3d} of {len(models)} ERROR creating {node['unique_id']} ({kind} error): {e}")
            print("Model failed; tests not run.")
            return 2
        print(f"{i:3d} of {len(models)} OK created {node['config']['materialized']} {node['relation_name']} "
              f"({what}) [{time.monotonic() - t0:.2f}s]")

    all_tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    tests = sorted((n for n in all_tests if not set(n["depends_on"]["nodes"]) & set(snapshots)), key=lambda n: n["name"])
    if snapshots:
        print(f"skipped {', '.join(s.split('.')[-1] for s in snapshots)} and its {len(all_tests) - len(tests)} tests: "
              "snapshots keep history across runs in a live warehouse (dbt snapshot with dbt-clickhouse)")
    counts = {"PASS": 0, "WARN": 0, "FAIL": 0, "ERROR": 0}
    for i, node in enumerate(tests, 1):
        try:
            status, failures = run_test(engine, node)
        except ChdbError as e:  # the test's SQL does not run: an error, as in dbt
            status, failures = "ERROR", 0
            print(f"{i:3d} of {len(tests)} ERROR {node['name']}: {e}")
            counts[status] += 1
            continue
        counts[status] += 1
        detail = f" ({failures} failing rows)" if status != "PASS" else ""
        print(f"{i:3d} of {len(tests)} {status} {node['name']}{detail}")
    print(f"Done on chdb (ClickHouse {engine.run('select version()').strip()}) in {time.monotonic() - started:.1f}s: "
          f"models={len(models)} PASS={counts['PASS']} WARN={counts['WARN']} FAIL={counts['FAIL']} "
          f"ERROR={counts['ERROR']} TOTAL={len(tests)}")
    return 1 if counts["FAIL"] or counts["ERROR"] else 0


# ---------------------------------------------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--session", required=True, help="chdb session directory (created if missing)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_load = sub.add_parser("load-raw")
    p_load.add_argument("--raw-dir", required=True)
    p_load.add_argument("--database", default="analytics")
    p_build = sub.add_parser("build")
    p_build.add_argument("--target", required=True, help="dbt target directory holding manifest.json")
    p_query = sub.add_parser("query")
    p_query.add_argument("sql")
    p_query.add_argument("--format", default="TSV")
    args = parser.parse_args()

    engine = Engine(args.session)
    try:
        if args.command == "load-raw":
            load_raw(engine, args.raw_dir, args.database)
            return 0
        if args.command == "build":
            return build(engine, args.target)
        sys.stdout.write(engine.run(args.sql, args.format))
        return 0
    except (HarnessError, ChdbError) as e:
        print(f"run_on_chdb: error: {e}", file=sys.stderr)
        return 2
    finally:
        engine.close()


if __name__ == "__main__":
    sys.exit(main())
