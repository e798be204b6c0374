-- The application keeps orders.total equal to the sum of the order's lines (quantity × unit_price).
-- Returns the orders where the replicated data disagrees (a missing or extra line, a wrong price or total).
select
    order_id,
    order_total,
    items_total
from {{ ref('fct_orders') }}
where order_total is null or items_total != order_total
