-- One-time rewrites of existing rows that SQL alone cannot do, applied by
-- Switchboard right after the schema migrations (core/src/store/data.rs).
create table data_migrations (
    name text primary key,
    applied_at text not null
);
