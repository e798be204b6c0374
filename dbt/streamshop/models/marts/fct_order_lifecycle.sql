-- One row per order whose OrderPlaced event is in the outbox: when it was placed, paid, shipped, delivered or
-- cancelled (the created_at of each event: its transaction's time in PostgreSQL), the durations between, and the
-- status the events leave it in. Built from the events alone: orders the application deleted since (a customer's
-- deletion cascades) keep their history here.
with events as (
    select
        toInt64(aggregateid) as order_id,
        type,
        cast(created_at as DateTime64(6, 'UTC')) as at,
        payload
    from {{ ref('stg_outbox_events') }}
    where aggregatetype = 'order'
),

per_order as (
    select
        order_id,
        anyIf(JSONExtractInt(payload, 'customer_id'), type = 'OrderPlaced') as customer_id,
        anyIf(toDecimal64OrNull(JSONExtractRaw(payload, 'total'), 2), type = 'OrderPlaced') as order_total,
        countIf(type = 'OrderPlaced') as placed_events,
        minIf(at, type = 'OrderPlaced') as placed_at,
        if(countIf(type = 'OrderPaid') > 0, minIf(at, type = 'OrderPaid'), null) as paid_at,
        if(countIf(type = 'OrderShipped') > 0, minIf(at, type = 'OrderShipped'), null) as shipped_at,
        if(countIf(type = 'OrderDelivered') > 0, minIf(at, type = 'OrderDelivered'), null) as delivered_at,
        if(countIf(type = 'OrderCancelled') > 0, minIf(at, type = 'OrderCancelled'), null) as cancelled_at
    from events
    group by order_id
)

select
    cast(order_id as Int64) as order_id,
    cast(customer_id as Int64) as customer_id,
    cast(order_total as Decimal(12, 2)) as order_total,
    cast(
        multiIf(
            cancelled_at is not null, 'cancelled',
            delivered_at is not null, 'delivered',
            shipped_at is not null, 'shipped',
            paid_at is not null, 'paid',
            'new'
        ) as String
    ) as status,
    cast(placed_at as DateTime64(6, 'UTC')) as placed_at,
    cast(paid_at as Nullable(DateTime64(6, 'UTC'))) as paid_at,
    cast(shipped_at as Nullable(DateTime64(6, 'UTC'))) as shipped_at,
    cast(delivered_at as Nullable(DateTime64(6, 'UTC'))) as delivered_at,
    cast(cancelled_at as Nullable(DateTime64(6, 'UTC'))) as cancelled_at,
    cast(dateDiff('microsecond', placed_at, paid_at) / 1e6 as Nullable(Float64)) as seconds_to_pay,
    cast(dateDiff('microsecond', placed_at, shipped_at) / 1e6 as Nullable(Float64)) as seconds_to_ship,
    cast(dateDiff('microsecond', placed_at, delivered_at) / 1e6 as Nullable(Float64)) as seconds_to_deliver,
    cast(dateDiff('microsecond', placed_at, cancelled_at) / 1e6 as Nullable(Float64)) as seconds_to_cancel
from per_order
where placed_events > 0
{{ config(order_by='order_id') }}
