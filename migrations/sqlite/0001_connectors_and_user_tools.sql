-- Same schema as migrations/postgres/0001; SQLite types: uuids are 16-byte
-- blobs, timestamps RFC 3339 text, JSON text, booleans integers.
create table connectors (
    id blob primary key,
    owner text not null,
    name text not null,
    name_key text not null,
    description text not null default '',
    server_url text not null,
    auth_type text not null check (auth_type in ('none', 'bearer', 'oauth')),
    auth_configured integer not null default 0,
    auth_hint text,
    credentials blob,
    headers blob,
    header_names text not null default '[]',
    enabled integer not null default 1,
    state text not null default 'active' check (state in ('active', 'degraded', 'needs_authorization')),
    tools text not null default '[]',
    tools_discovered_at text,
    last_test_status text,
    last_error_code text,
    consecutive_failures integer not null default 0,
    created_at text not null,
    updated_at text not null,
    constraint connectors_owner_name_key unique (owner, name_key)
);

create index connectors_owner_created on connectors (owner, created_at);

create table user_tools (
    owner text not null,
    tool_id text not null,
    connected integer not null default 0,
    credentials blob,
    connected_at text,
    created_at text not null,
    updated_at text not null,
    primary key (owner, tool_id)
);
