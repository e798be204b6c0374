{{ config(order_by='order_id') }}
-- One row per current order: its lines aggregated, the order's own total and status, and the customer's
-- attributes at query time. Orders without lines have item_count 0 and items_total 0.
with line_stats as (
    select
        order_id,
        count() as item_count,
        sum(quantity) as quantity_total,
        sum(line_total) as items_total
    from {{ ref('stg_order_items') }}
    group by order_id
)

select
    o.order_id as order_id,
    o.customer_id as customer_id,
    o.status as status,
    toUInt64(coalesce(l.item_count, 0)) as item_count,
    toInt64(coalesce(l.quantity_total, 0)) as quantity_total,
    toDecimal128(coalesce(l.items_total, 0), 2) as items_total,
    o.total as order_total,
    o.created_at as created_at,
    o.updated_at as updated_at,
    c.email as customer_email,
    c.full_name as customer_name,
    c.country as customer_country,
    c.city as customer_city
from {{ ref('stg_orders') }} as o
left join line_stats as l on l.order_id = o.order_id
left join {{ ref('stg_customers') }} as c on c.customer_id = o.customer_id
