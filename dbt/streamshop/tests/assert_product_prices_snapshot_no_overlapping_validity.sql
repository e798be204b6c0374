-- SCD2 validity ranges of each product in product_prices_snapshot: ordered by dbt_valid_from, every range is
-- non-empty (dbt_valid_to > dbt_valid_from when closed), and only the last one may be open; a range ends no later
-- than the next one begins (no two prices valid at the same instant). Returns the offending rows.
with ranges as (
    select
        product_id,
        dbt_scd_id,
        price,
        dbt_valid_from,
        dbt_valid_to,
        leadInFrame(toNullable(dbt_valid_from)) over (
            partition by product_id order by dbt_valid_from, dbt_scd_id
            rows between unbounded preceding and unbounded following
        ) as next_valid_from
    from {{ ref('product_prices_snapshot') }}
)

select *
from ranges
where dbt_valid_to <= dbt_valid_from
   or (next_valid_from is not null and (dbt_valid_to is null or dbt_valid_to > next_valid_from))
