-- Current orders: per key the row with the highest _version (FINAL), dropped when that version is a delete.
-- Every column of the raw table except _deleted (always 0 here): the PostgreSQL columns, _version, _unfit,
-- _synced_at. A column added in PostgreSQL (ALTER TABLE … ADD COLUMN) reaches the raw table through replicate
-- and appears here at the next dbt run, without an edit; the marts list their columns (and enforce contracts).
select * except (_deleted)
from {{ source('streamshop', 'raw_orders') }} final
where _deleted = 0
