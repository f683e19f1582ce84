-- Notifications and their delivery state. No reporter contact (name, e-mail, phone) is kept here:
-- the delivery worker asks intake for it when it sends. Subjects and bodies are rendered without it.
CREATE TABLE notify.notifications (
    id              bigserial PRIMARY KEY,
    -- The request that created it (on the notification the request answered with; NULL on the others).
    idempotency_key text UNIQUE,
    tracking_id     text NOT NULL,
    event           text NOT NULL,
    recipient       text NOT NULL CHECK (recipient IN ('reporter', 'agency', 'national_admins')),
    agency_id       text NOT NULL DEFAULT '',
    params_digest   text NOT NULL DEFAULT '',  -- of the request's params: which occurrence of the event
    channel         text NOT NULL CHECK (channel IN ('in_app', 'email')),
    language        text NOT NULL CHECK (language IN ('id', 'en')),
    subject         text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    -- pending: when the next attempt is due (or the claim of a worker ends); sending: when its lease ends.
    next_attempt_at timestamptz,
    sent_at         timestamptz,
    last_error      text NOT NULL DEFAULT '',
    -- At most one notification per event, recipient, agency (the recipient, or the one the event is
    -- about), params and channel of a report.
    UNIQUE (tracking_id, event, recipient, agency_id, params_digest, channel)
);
CREATE INDEX notifications_by_report ON notify.notifications (tracking_id, id);
CREATE INDEX notifications_due ON notify.notifications (next_attempt_at)
    WHERE channel = 'email' AND status IN ('pending', 'sending');
