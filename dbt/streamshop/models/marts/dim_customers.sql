{{ config(order_by='customer_id') }}
-- One row per current customer with lifetime order statistics. Customers without orders have 0 orders,
-- 0 revenue and NULL first/last order timestamps.
with order_stats as (
    select
        customer_id,
        count() as lifetime_orders,
        countIf(status = 'cancelled') as cancelled_orders,
        sumIf(total, status != 'cancelled') as lifetime_revenue,
        min(created_at) as first_order_at,
        max(created_at) as last_order_at
    from {{ ref('stg_orders') }}
    group by customer_id
)

select
    c.customer_id as customer_id,
    c.email as email,
    c.full_name as full_name,
    c.country as country,
    c.city as city,
    c.created_at as created_at,
    c.updated_at as updated_at,
    toUInt64(coalesce(o.lifetime_orders, 0)) as lifetime_orders,
    toUInt64(coalesce(o.cancelled_orders, 0)) as cancelled_orders,
    toDecimal128(coalesce(o.lifetime_revenue, 0), 2) as lifetime_revenue,
    o.first_order_at as first_order_at,
    o.last_order_at as last_order_at
from {{ ref('stg_customers') }} as c
left join order_stats as o on o.customer_id = c.customer_id
