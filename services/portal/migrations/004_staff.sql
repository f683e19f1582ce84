-- Staff sign-in: failed attempts counted per account (the fifth within 15 minutes locks it for 15
-- minutes), accounts disabled rather than deleted (their id stays the subject of what they did), and
-- who made or disabled an account (NULL: the command line or the demo data).
ALTER TABLE portal.staff_accounts
    ADD COLUMN created_by        bigint REFERENCES portal.staff_accounts (id),
    ADD COLUMN disabled_at       timestamptz,
    ADD COLUMN disabled_by       bigint REFERENCES portal.staff_accounts (id),
    ADD COLUMN last_signed_in_at timestamptz,
    ADD COLUMN failed_sign_ins   integer NOT NULL DEFAULT 0 CHECK (failed_sign_ins >= 0),
    ADD COLUMN failing_since     timestamptz,
    ADD COLUMN locked_until      timestamptz,
    ADD CONSTRAINT staff_accounts_username_form CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$');

-- An agency administrator lists the accounts of their agency.
CREATE INDEX staff_accounts_agency ON portal.staff_accounts (agency_id, username) WHERE agency_id <> '';
