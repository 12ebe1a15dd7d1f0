-- Tools a user switched off (kept across re-discovery: keyed by the server's tool name).
create table tool_switches (
    connector_id uuid not null references connectors (id) on delete cascade,
    owner text not null,
    tool_name text not null,
    enabled boolean not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (connector_id, tool_name)
);

create index tool_switches_owner on tool_switches (owner);

-- Invocations: an idempotency key never runs twice for a user; `dispatched_at`
-- records that a tools/call may have reached the server (crash safety).
alter table runs add column idempotency_key text;
alter table runs add column request_hash text;
alter table runs add column dispatched_at timestamptz;
create unique index runs_owner_idempotency_key on runs (owner, idempotency_key) where idempotency_key is not null;

-- One row per tool call, kept independently of runs (analytics, export).
create table invocations (
    id uuid primary key,
    owner text not null,
    run_id uuid not null,
    source_kind text not null check (source_kind in ('connector', 'system')),
    connector_id uuid,
    system_tool text,
    tool_name text not null,
    catalog_name text not null,
    outcome text not null,
    error_code text,
    attempts integer not null,
    duration_ms double precision not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index invocations_owner_created on invocations (owner, created_at);
create index invocations_created on invocations (created_at);
