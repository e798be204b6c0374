-- The domain events of the outbox, as appended (no FINAL: the table is append-only and holds each event once),
-- with the fields of their JSON payloads that the marts use. Ordered as committed: (_commit_lsn, _lsn).
select
    id,
    aggregatetype,
    aggregateid,
    type,
    payload,
    created_at,
    _lsn,
    _commit_lsn,
    _commit_time
from {{ source('streamshop', 'outbox_events') }}
