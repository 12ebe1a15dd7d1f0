-- Runs always end. A worker takes a run with a lease (owner + expiry, renewed
-- while it works); dispatching a call and finishing are compare-and-sets on
-- the lease. `enqueued_at` and `requeues` let the reconciler re-enqueue a run
-- whose job was lost, a bounded number of times. `waiting`: over its user's
-- cap of running jobs, with no job in the queue (enqueued when a slot frees);
-- `awaiting_approval`: waiting for a person (nobody's lease).
alter table runs drop constraint runs_status_check;
alter table runs add constraint runs_status_check
    check (status in ('queued', 'waiting', 'running', 'awaiting_approval', 'succeeded', 'failed'));
alter table runs add column lease_owner text;
alter table runs add column lease_until timestamptz;
alter table runs add column enqueued_at timestamptz;
alter table runs add column requeues integer not null default 0;
update runs set enqueued_at = created_at where status in ('queued', 'running');

create index runs_unfinished on runs (status, lease_until, enqueued_at) where status in ('queued', 'running', 'waiting');
create index runs_owner_kind_unfinished on runs (owner, kind, status) where status in ('queued', 'running', 'waiting');

-- Periodic work done by one process per interval, whichever claims it.
create table maintenance_claims (
    name text primary key,
    next_at timestamptz not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
