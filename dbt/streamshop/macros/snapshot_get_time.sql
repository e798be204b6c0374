{#- The time dbt snapshots stamp on rows they close without a source timestamp (a product deleted in PostgreSQL,
    hard_deletes='invalidate'). dbt-clickhouse uses now(), a DateTime in seconds in the server's time zone; the
    sources' timestamps are DateTime64(6, 'UTC') (timestamptz), so validity ranges would mix types and precisions
    (dbt warns about exactly that). Same type as the sources: microseconds, UTC. -#}
{% macro clickhouse__snapshot_get_time() -%}
    now64(6, 'UTC')
{%- endmacro %}
