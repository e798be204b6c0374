-- Current order lines: per (order_id, line_no) the row with the highest _version (FINAL), unless it is a delete.
-- Every column of the raw table except _deleted (see stg_customers.sql), plus line_total.
select
    * except (_deleted),
    quantity * unit_price as line_total
from {{ source('streamshop', 'raw_order_items') }} final
where _deleted = 0
