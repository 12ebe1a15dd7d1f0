-- Same as migrations/postgres/0002.
create table runs (
    id blob primary key,
    owner text not null,
    kind text not null,
    status text not null check (status in ('queued', 'running', 'succeeded', 'failed')),
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
    updated_at text not null
);

create index runs_owner_created on runs (owner, created_at);
create index runs_created on runs (created_at);

alter table connectors add column next_check_at text;
create index connectors_next_check on connectors (next_check_at) where enabled;
