-- The domain events of the outbox, as appended (no FINAL: the table is append-only and holds each event once),
-- in commit order by (_commit_lsn, _seq).
select
    id,
    aggregatetype,
    aggregateid,
    type,
    payload,
    created_at,
    _lsn,
    _commit_lsn,
    _seq,
    _commit_time
from {{ source('streamshop', 'outbox_events') }}
