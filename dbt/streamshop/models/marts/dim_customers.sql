{{ config(order_by='customer_id') }}
-- One row per current customer with lifetime order statistics. Customers without orders have 0 orders,
-- 0 revenue and NULL first/last order timestamps.
-- Every column is cast to the type its contract (_marts.yml) declares: the mart's interface does not follow the
-- raw tables' dialect (e.g. whether a NOT NULL PostgreSQL column arrives Nullable), and an edit that changes a
-- column's name or type fails the build instead of changing the table under its readers.
with order_stats as (
    select
        customer_id,
        count() as lifetime_orders,
        countIf(status = 'cancelled') as cancelled_orders,
        sumIf(total, status != 'cancelled') as lifetime_revenue,
        toNullable(min(created_at)) as first_order_at,
        toNullable(max(created_at)) as last_order_at
    from {{ ref('stg_orders') }}
    group by customer_id
)

select
    cast(c.customer_id as Int64) as customer_id,
    cast(c.email as String) as email,
    cast(c.full_name as String) as full_name,
    cast(c.country as String) as country,
    cast(c.city as String) as city,
    cast(c.created_at as DateTime64(6, 'UTC')) as created_at,
    cast(c.updated_at as DateTime64(6, 'UTC')) as updated_at,
    toUInt64(coalesce(o.lifetime_orders, 0)) as lifetime_orders,
    toUInt64(coalesce(o.cancelled_orders, 0)) as cancelled_orders,
    toDecimal128(coalesce(o.lifetime_revenue, 0), 2) as lifetime_revenue,
    cast(o.first_order_at as Nullable(DateTime64(6, 'UTC'))) as first_order_at,
    cast(o.last_order_at as Nullable(DateTime64(6, 'UTC'))) as last_order_at
from {{ ref('stg_customers') }} as c
left join order_stats as o on o.customer_id = c.customer_id
