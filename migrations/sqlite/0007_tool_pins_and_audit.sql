-- Same as migrations/postgres/0007.
alter table connectors add column tool_pins text;
alter table connectors add column pins_rev integer not null default 0;
alter table connectors add column changes_pending integer not null default 0;

create table audit_events (
    id blob primary key,
    owner text,
    actor text not null,
    kind text not null,
    object text not null,
    summary text not null,
    created_at text not null
);

create index audit_events_owner_id on audit_events (owner, id);
create index audit_events_created on audit_events (created_at);
