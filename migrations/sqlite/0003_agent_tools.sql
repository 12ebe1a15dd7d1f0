-- Same as migrations/postgres/0003.
create table tool_switches (
    connector_id blob not null references connectors (id) on delete cascade,
    owner text not null,
    tool_name text not null,
    enabled integer not null,
    created_at text not null,
    updated_at text not null,
    primary key (connector_id, tool_name)
);

create index tool_switches_owner on tool_switches (owner);

alter table runs add column idempotency_key text;
alter table runs add column request_hash text;
alter table runs add column dispatched_at text;
create unique index runs_owner_idempotency_key on runs (owner, idempotency_key) where idempotency_key is not null;

create table invocations (
    id blob primary key,
    owner text not null,
    run_id blob not null,
    source_kind text not null check (source_kind in ('connector', 'system')),
    connector_id blob,
    system_tool text,
    tool_name text not null,
    catalog_name text not null,
    outcome text not null,
    error_code text,
    attempts integer not null,
    duration_ms real not null,
    created_at text not null,
    updated_at text not null
);

create index invocations_owner_created on invocations (owner, created_at);
create index invocations_created on invocations (created_at);
