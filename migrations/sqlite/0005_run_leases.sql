-- Same as migrations/postgres/0005. SQLite cannot change a check constraint,
-- so the runs table is rebuilt with the new statuses and columns.
create table runs_new (
    id blob primary key,
    owner text not null,
    kind text not null,
    status text not null check (status in ('queued', 'waiting', 'running', 'awaiting_approval', 'succeeded', 'failed')),
    connector_id blob,
    input text not null default '{}',
    sealed_input blob,
    steps text not null default '[]',
    result text,
    error_code text,
    error_message text,
    attempts integer not null default 0,
    created_at text not null,
    started_at text,
    finished_at text,
    updated_at text not null,
    idempotency_key text,
    request_hash text,
    dispatched_at text,
    lease_owner text,
    lease_until text,
    enqueued_at text,
    requeues integer not null default 0
);

insert into runs_new (id, owner, kind, status, connector_id, input, sealed_input, steps, result, error_code,
    error_message, attempts, created_at, started_at, finished_at, updated_at, idempotency_key, request_hash,
    dispatched_at, enqueued_at)
select id, owner, kind, status, connector_id, input, sealed_input, steps, result, error_code, error_message,
    attempts, created_at, started_at, finished_at, updated_at, idempotency_key, request_hash, dispatched_at,
    case when status in ('queued', 'running') then created_at end
from runs;

drop table runs;
alter table runs_new rename to runs;

create index runs_owner_created on runs (owner, created_at);
create index runs_created on runs (created_at);
create unique index runs_owner_idempotency_key on runs (owner, idempotency_key) where idempotency_key is not null;
create index runs_unfinished on runs (status, lease_until, enqueued_at) where status in ('queued', 'running', 'waiting');
create index runs_owner_kind_unfinished on runs (owner, kind, status) where status in ('queued', 'running', 'waiting');

create table maintenance_claims (
    name text primary key,
    next_at text not null,
    created_at text not null,
    updated_at text not null
);
