-- Pinned tool definitions (core/src/domain/pins.rs): `tools` stays what agents
-- are served; `tool_pins` holds the approved copy with its canonical hash and
-- any offered change held for review. Null: nothing pinned yet (an OAuth
-- connector saved before its authorization). Existing connectors pin their
-- current tools in data migration 0007 (core/src/store/data.rs).
alter table connectors add column tool_pins jsonb;
alter table connectors add column pins_rev integer not null default 0;     -- compare-and-set guard
alter table connectors add column changes_pending integer not null default 0;

-- Security-relevant events, append-only; summaries never hold a secret.
create table audit_events (
    id uuid primary key,                    -- v7: ordered by time, the paging cursor
    owner text,                             -- null: an operator's event (key rotation)
    actor text not null,                    -- the user, `switchboard` or `operator`
    kind text not null,
    object text not null,                   -- e.g. `connector:<id>`, `system_tool:gmail`
    summary jsonb not null,
    created_at timestamptz not null
);

create index audit_events_owner_id on audit_events (owner, id);
create index audit_events_created on audit_events (created_at);
