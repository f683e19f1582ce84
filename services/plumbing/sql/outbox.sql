-- The transactional outbox of a service that sends events into processes.
-- Written in the same transaction as the change it announces; a relay delivers it.
CREATE TABLE "{schema}".outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    tracking_id     text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    outcome         text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);
CREATE INDEX outbox_pending ON "{schema}".outbox (id) WHERE delivered_at IS NULL;
