-- Each deployed version of a process model, kept for as long as instances run on it.
CREATE TABLE sla.process_versions (
    id           serial PRIMARY KEY,
    process_id   text NOT NULL,
    content_hash text NOT NULL UNIQUE,
    bpmn         text NOT NULL,
    spec_json    text NOT NULL,  -- the parsed spec, serialized once per version
    deployed_at  timestamptz NOT NULL DEFAULT now()
);

-- One process instance per report. next_due_at is the earliest timer or retry: the timer
-- worker reads only rows that are due, through the partial index.
CREATE TABLE sla.instances (
    tracking_id        text PRIMARY KEY,
    version_id         integer NOT NULL REFERENCES sla.process_versions (id),
    serializer_version text NOT NULL,
    state              text NOT NULL,
    status             text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    waiting_for        text[] NOT NULL DEFAULT '{}',
    deadlines          jsonb NOT NULL DEFAULT '[]',
    failed_tasks       text[] NOT NULL DEFAULT '{}',
    last_error         text,
    attempts           integer NOT NULL DEFAULT 0,
    retry_at           timestamptz,
    next_due_at        timestamptz,
    started_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX instances_due ON sla.instances (next_due_at) WHERE next_due_at IS NOT NULL;

-- Every event received, accepted or not: a repeated event id changes nothing.
CREATE TABLE sla.events (
    event_id     text PRIMARY KEY,
    tracking_id  text NOT NULL,
    name         text NOT NULL,
    outcome      text NOT NULL,  -- started, accepted, not_waiting, unknown_case
    detail       text,
    received_at  timestamptz NOT NULL
);
CREATE INDEX events_by_report ON sla.events (tracking_id, received_at);
