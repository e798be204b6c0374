-- Current customers: per customer_id the row with the highest _version, dropped when that version is a delete.
select
    customer_id,
    email,
    full_name,
    country,
    city,
    created_at,
    updated_at,
    _version,
    _synced_at
from {{ source('streamshop', 'raw_customers') }} final
where _deleted = 0
