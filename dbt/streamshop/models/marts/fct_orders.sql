{{ config(order_by='order_id') }}
-- One row per current order: its lines aggregated, the order's own total and status, and the customer's
-- attributes at query time. Orders without lines have item_count 0 and items_total 0.
-- Columns are cast to their contract types (_marts.yml; see dim_customers.sql for why).
with line_stats as (
    select
        order_id,
        count() as item_count,
        sum(quantity) as quantity_total,
        sum(line_total) as items_total
    from {{ ref('stg_order_items') }}
    group by order_id
),

customers as (
    select
        customer_id,
        toNullable(email) as email,
        toNullable(full_name) as full_name,
        toNullable(country) as country,
        toNullable(city) as city
    from {{ ref('stg_customers') }}
)

select
    cast(o.order_id as Int64) as order_id,
    cast(o.customer_id as Int64) as customer_id,
    cast(o.status as String) as status,
    toUInt64(coalesce(l.item_count, 0)) as item_count,
    toInt64(coalesce(l.quantity_total, 0)) as quantity_total,
    toDecimal128(coalesce(l.items_total, 0), 2) as items_total,
    cast(o.total as Decimal(12, 2)) as order_total,
    cast(o.created_at as DateTime64(6, 'UTC')) as created_at,
    cast(o.updated_at as DateTime64(6, 'UTC')) as updated_at,
    cast(c.email as Nullable(String)) as customer_email,
    cast(c.full_name as Nullable(String)) as customer_name,
    cast(c.country as Nullable(String)) as customer_country,
    cast(c.city as Nullable(String)) as customer_city
from {{ ref('stg_orders') }} as o
left join line_stats as l on l.order_id = o.order_id
left join customers as c on c.customer_id = o.customer_id
