-- Same as migrations/postgres/0004.
create table oauth_flows (
    state_hash text primary key,
    owner text not null,
    target text not null,
    browser_hash text not null,
    pending blob not null,
    expires_at text not null,
    created_at text not null
);

create index oauth_flows_expires on oauth_flows (expires_at);

create table oauth_grants (
    owner text not null,
    target text not null,
    issuer text not null,
    grant_data blob not null,
    lease_until text,
    created_at text not null,
    updated_at text not null,
    primary key (owner, target)
);
