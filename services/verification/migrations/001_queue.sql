CREATE TABLE verification.queue (
    tracking_id   text PRIMARY KEY,
    submitted_at  timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'on_hold', 'decided')),
    enqueued_at   timestamptz NOT NULL,
    enqueue_key   text NOT NULL
);
CREATE INDEX queue_open_by_due ON verification.queue (due_at) WHERE status <> 'decided';

CREATE TABLE verification.decisions (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    tracking_id     text NOT NULL REFERENCES verification.queue (tracking_id),
    outcome         text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    category        text NOT NULL DEFAULT '',
    agency_id       text NOT NULL DEFAULT '',
    duplicate_of    text NOT NULL DEFAULT '',
    decided_by      text NOT NULL,
    decided_at      timestamptz NOT NULL
);
CREATE INDEX decisions_by_report ON verification.decisions (tracking_id, id);
