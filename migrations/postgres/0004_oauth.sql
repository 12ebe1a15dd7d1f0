-- OAuth authorizations in progress: keyed by a hash of the `state` parameter
-- (single use: the callback deletes the row), bound to the user, the target and
-- the browser that started it (hash of an HttpOnly cookie). `pending` is the
-- sealed PKCE verifier and client registration (`oauth_flows.pending`).
create table oauth_flows (
    state_hash text primary key,
    owner text not null,
    target text not null,                   -- 'connector:<uuid>' or 'tool:<id>'
    browser_hash text not null,
    pending bytea not null,
    expires_at timestamptz not null,
    created_at timestamptz not null
);

create index oauth_flows_expires on oauth_flows (expires_at);

-- Tokens issued to Switchboard for one (user, target), sealed (`oauth_grants.grant_data`).
-- `lease_until` makes refresh single-flight across processes.
create table oauth_grants (
    owner text not null,
    target text not null,
    issuer text not null,
    grant_data bytea not null,
    lease_until timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (owner, target)
);
