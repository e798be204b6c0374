-- After a snapshot run, the current rows of product_prices_snapshot (dbt_valid_to is null) are exactly the
-- current products with their current prices (stg_products, i.e. PostgreSQL once replication has caught up):
-- returns each current row that is not the product's price in the source (side = 'snapshot') and each product
-- whose price has no current row (side = 'source'). `dbt build` runs the snapshot before this test; run on its
-- own (`dbt test`), it fails when prices changed since the last `dbt snapshot`.
with current_rows as (
    select product_id, price from {{ ref('product_prices_snapshot') }} where dbt_valid_to is null
),

source_rows as (
    select product_id, price from {{ ref('stg_products') }}
)

select product_id, price, 'snapshot' as side
from (select product_id, price from current_rows except select product_id, price from source_rows)
union all
select product_id, price, 'source' as side
from (select product_id, price from source_rows except select product_id, price from current_rows)
