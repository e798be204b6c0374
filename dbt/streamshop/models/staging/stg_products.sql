-- Current product catalogue: per product_id the row with the highest _version, unless it is a delete.
select
    product_id,
    sku,
    name,
    category,
    price,
    active,
    created_at,
    updated_at,
    _version,
    _synced_at
from {{ source('streamshop', 'raw_products') }} final
where _deleted = 0
