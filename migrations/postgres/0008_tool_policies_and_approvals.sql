-- Allow, ask or block per tool (core/src/approvals/policy.rs). A tool's own
-- policy lives in `tool_switches` (connectors) or `function_policies` (system
-- tools); a tool without one follows its connector's or system tool's default.
-- New connectors and system tool connections default to `auto` (ask unless the
-- tool is marked read-only); everything saved before this migration gets
-- `allow`, so nothing that works today starts waiting.
alter table tool_switches add column policy text not null default 'allow'
    check (policy in ('allow', 'ask', 'block'));
update tool_switches set policy = 'block' where not enabled;

alter table connectors add column tool_policy text not null default 'auto'
    check (tool_policy in ('auto', 'allow', 'ask', 'block'));
update connectors set tool_policy = 'allow';

alter table user_tools add column tool_policy text not null default 'auto'
    check (tool_policy in ('auto', 'allow', 'ask', 'block'));
update user_tools set tool_policy = 'allow';

create table function_policies (
    owner text not null,
    tool_id text not null,
    function_name text not null,
    policy text not null check (policy in ('allow', 'ask', 'block')),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (owner, tool_id, function_name)
);

-- A call a person has to approve. `run_id`: the invocation run waiting for the
-- decision (null for the MCP gateway, where an approval is a single-use grant
-- for the next identical call); `turn_id`: the agent turn parked on it.
-- `sealed_arguments`: vault `approvals.sealed_arguments`, dropped once decided.
-- `request_hash`: the tool (source and name) and its arguments, what a grant matches.
create table approvals (
    id uuid primary key,
    owner text not null,
    run_id uuid,
    turn_id uuid,
    origin text not null check (origin in ('invocation', 'agent', 'gateway', 'proxy')),
    source_kind text not null,
    connector_id uuid,
    system_tool text,
    tool_name text not null,
    catalog_name text not null,
    display_name text not null,
    request_hash text not null,
    sealed_arguments bytea,
    state text not null check (state in ('pending', 'approved', 'denied', 'expired', 'used')),
    asked_client boolean not null default false,  -- put to an MCP client as an `input_required` question
    how text,
    decided_by text,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    decided_at timestamptz,
    updated_at timestamptz not null
);

create index approvals_owner_created on approvals (owner, created_at);
create index approvals_due on approvals (expires_at) where state = 'pending' or (state = 'approved' and run_id is null);
create index approvals_grants on approvals (owner, request_hash) where state = 'approved' and run_id is null;

-- The runs list pages by id (v7: time-ordered), newest first.
create index runs_owner_id on runs (owner, id);
