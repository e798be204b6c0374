{% snapshot product_prices_snapshot %}
{{
    config(
        unique_key='product_id',
        strategy='check',
        check_cols=['price'],
        updated_at='updated_at',
        hard_deletes='invalidate',
        query_settings={'join_use_nulls': 1},
    )
}}
-- SCD2 price history of the product catalogue: one row per (product, price) with the interval during which that
-- price was current. A new row only when the price changes (check strategy on price); validity boundaries are
-- the PostgreSQL updated_at of the change (updated_at config), not the time of the snapshot run. A product
-- deleted in PostgreSQL gets dbt_valid_to = the time of the snapshot run that noticed it (hard_deletes).
-- Reads the source (the current products, as stg_products does), as dbt advises for snapshots: `dbt snapshot` works
-- on its own, before any model exists.
-- join_use_nulls = 1: dbt-clickhouse's snapshot SQL finds new and deleted keys with LEFT JOIN … WHERE <other side>
-- IS NULL, which ClickHouse's default (join_use_nulls = 0: default values, not NULLs, for rows without a match)
-- never satisfies: deleted products would stay current forever.
select
    product_id,
    sku,
    name,
    category,
    price,
    updated_at
from {{ source('streamshop', 'raw_products') }} final
where _deleted = 0
{% endsnapshot %}
