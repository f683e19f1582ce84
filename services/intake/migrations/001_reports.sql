-- Reports, their reporters and their timelines. Reporter contact lives only in intake.reporters.
CREATE TABLE intake.reports (
    tracking_id     text PRIMARY KEY,
    channel         text NOT NULL CHECK (channel IN ('web', 'sms', 'x', 'app', 'open311', 'agency')),
    idempotency_key text NOT NULL,
    type            text NOT NULL CHECK (type IN ('complaint', 'aspiration', 'information_request')),
    title           text NOT NULL,
    description     text NOT NULL,
    category        text NOT NULL DEFAULT '',
    region_code     text NOT NULL DEFAULT '',
    location_text   text NOT NULL DEFAULT '',
    anonymous       boolean NOT NULL DEFAULT false,
    confidential    boolean NOT NULL DEFAULT false,
    language        text NOT NULL CHECK (language IN ('id', 'en')),
    status          text NOT NULL CHECK (status IN ('in_verification', 'needs_completion', 'on_hold', 'forwarded',
                                                    'followed_up', 'closed', 'archived', 'duplicate')),
    submitted_at    timestamptz NOT NULL,
    agency_id       text NOT NULL DEFAULT '',
    agency_name     text NOT NULL DEFAULT '',
    published       boolean NOT NULL DEFAULT false,
    published_at    timestamptz,
    UNIQUE (channel, idempotency_key)
);
CREATE INDEX reports_by_agency ON intake.reports (agency_id, status) WHERE agency_id <> '';

CREATE TABLE intake.reporters (
    tracking_id text PRIMARY KEY REFERENCES intake.reports (tracking_id),
    name        text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT ''
);

CREATE TABLE intake.timeline (
    id              bigserial PRIMARY KEY,
    tracking_id     text NOT NULL REFERENCES intake.reports (tracking_id),
    kind            text NOT NULL CHECK (kind IN ('submitted', 'status', 'follow_up', 'reply', 'completion')),
    author          text NOT NULL,
    agency_id       text NOT NULL DEFAULT '',
    body            text NOT NULL DEFAULT '',
    status          text,
    created_at      timestamptz NOT NULL,
    -- A repeated call of the same kind on the same report returns its first entry. Keys are
    -- per report so that a key reused on another report can never reveal this one.
    idempotency_key text
);
CREATE INDEX timeline_by_report ON intake.timeline (tracking_id, id);
CREATE UNIQUE INDEX timeline_idempotency ON intake.timeline (tracking_id, kind, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
