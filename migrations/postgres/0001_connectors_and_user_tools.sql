-- Connectors: a user's remote MCP servers. Secrets are vault ciphertexts
-- bound to (field, owner, id); see core/src/vault.rs.
create table connectors (
    id uuid primary key,
    owner text not null,
    name text not null,
    name_key text not null,                 -- lowercase name: uniqueness is case-insensitive
    description text not null default '',
    server_url text not null,
    auth_type text not null check (auth_type in ('none', 'bearer', 'oauth')),
    auth_configured boolean not null default false,
    auth_hint text,                         -- masked, e.g. '••••abcd'; never a secret
    credentials bytea,                      -- sealed `connectors.credentials`
    headers bytea,                          -- sealed `connectors.headers`
    header_names jsonb not null default '[]',
    enabled boolean not null default true,
    state text not null default 'active' check (state in ('active', 'degraded', 'needs_authorization')),
    tools jsonb not null default '[]',      -- snapshot of the last discovery
    tools_discovered_at timestamptz,
    last_test_status text,
    last_error_code text,
    consecutive_failures integer not null default 0,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint connectors_owner_name_key unique (owner, name_key)
);

create index connectors_owner_created on connectors (owner, created_at);

-- Which system tools a user has connected, with their sealed credentials.
create table user_tools (
    owner text not null,
    tool_id text not null,
    connected boolean not null default false,
    credentials bytea,                      -- sealed `user_tools.credentials`
    connected_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (owner, tool_id)
);
