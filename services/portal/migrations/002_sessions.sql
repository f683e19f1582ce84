-- Server-side sessions of the portal's pages (reporters now, staff later). The browser holds a
-- random session id in a cookie; only its SHA-256 is kept here, so a copy of this table does not
-- let anyone act as a session.
CREATE TABLE portal.sessions (
    id_hash      bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    csrf_token   text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    -- the earlier of the idle and the absolute expiry, moved on as the session is used
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at ON portal.sessions (expires_at);

-- Attempts counted in fixed windows, e.g. wrong access codes per session and per address.
CREATE TABLE portal.rate_limits (
    bucket       text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    attempts     integer NOT NULL
);
CREATE INDEX rate_limits_window_start ON portal.rate_limits (window_start);
