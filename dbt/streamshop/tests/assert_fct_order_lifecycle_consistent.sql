-- The events of an order happen in lifecycle order (placed ≤ paid ≤ shipped ≤ delivered; cancelled after placed,
-- never after shipping), and an order whose events and current row are both replicated has the same status in
-- both: the outbox and the tables tell one story. Returns the orders where they do not.
select
    l.order_id,
    l.status,
    o.status as table_status
from {{ ref('fct_order_lifecycle') }} as l
left join {{ ref('fct_orders') }} as o on o.order_id = l.order_id
where (l.paid_at is not null and l.paid_at < l.placed_at)
    or (l.shipped_at is not null and (l.paid_at is null or l.shipped_at < l.paid_at))
    or (l.delivered_at is not null and (l.shipped_at is null or l.delivered_at < l.shipped_at))
    or (l.cancelled_at is not null and (l.cancelled_at < l.placed_at or l.shipped_at is not null))
    or (o.order_id != 0 and o.status != l.status)
