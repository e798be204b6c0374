-- Current order lines: per (order_id, line_no) the row with the highest _version, unless it is a delete.
select
    order_id,
    line_no,
    product_id,
    quantity,
    unit_price,
    quantity * unit_price as line_total,
    _version,
    _synced_at
from {{ source('streamshop', 'raw_order_items') }} final
where _deleted = 0
