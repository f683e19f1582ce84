-- API keys of the REST API (/api/v1): reporters' apps and agencies' own systems. Only the SHA-256
-- of a key is kept; its public prefix finds the row. A revoked key keeps its row (and its name).
CREATE TABLE portal.api_keys (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    kind       text NOT NULL CHECK (kind IN ('app', 'agency')),
    agency_id  text NOT NULL DEFAULT '',
    prefix     text NOT NULL UNIQUE,
    key_sha256 bytea NOT NULL CHECK (length(key_sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    -- an agency's key acts for that agency; an app's for no agency
    CHECK ((kind = 'agency') = (agency_id <> ''))
);

-- Reports submitted through the API, by the key and Idempotency-Key they came with: a repeat of the
-- same request answers 200 with the first report, the same key on a different request is refused.
CREATE TABLE portal.api_submissions (
    key_id          bigint NOT NULL REFERENCES portal.api_keys (id),
    idempotency_key text NOT NULL,
    request_sha256  bytea NOT NULL,
    tracking_id     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idempotency_key)
);
