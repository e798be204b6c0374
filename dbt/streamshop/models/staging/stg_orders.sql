-- Current orders: per order_id the row with the highest _version, unless it is a delete.
select
    order_id,
    customer_id,
    status,
    total,
    created_at,
    updated_at,
    _version,
    _synced_at
from {{ source('streamshop', 'raw_orders') }} final
where _deleted = 0
