-- Runs: the client-facing truth of every job (connection tests, discovery).
-- `sealed_input` holds the credentials a test uses (vault: `runs.sealed_input`)
-- and is cleared when the run finishes.
create table runs (
    id uuid primary key,
    owner text not null,
    kind text not null,
    status text not null check (status in ('queued', 'running', 'succeeded', 'failed')),
    connector_id uuid,
    input jsonb not null default '{}',
    sealed_input bytea,
    steps jsonb not null default '[]',
    result jsonb,
    error_code text,
    error_message text,
    attempts integer not null default 0,
    created_at timestamptz not null,
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz not null
);

create index runs_owner_created on runs (owner, created_at);
create index runs_created on runs (created_at);

-- When the scheduler next re-checks a connector (null: not scheduled).
alter table connectors add column next_check_at timestamptz;
create index connectors_next_check on connectors (next_check_at) where enabled;
