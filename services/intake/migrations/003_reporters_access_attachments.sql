-- Issue 5: reporter access codes, reporter accounts, attachments, and what it takes to answer a reporter
-- on the channel they wrote from (SMS, X).

-- Optional reporter accounts. Like intake.reporters, this table holds personal data: it stays in intake.
CREATE TABLE intake.reporter_accounts (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    email           text NOT NULL,
    -- scrypt$N$r$p$salt$key: the parameters travel with the hash, so they can be raised for new ones.
    password_hash   text NOT NULL,
    name            text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    -- Failed sign-ins since failing_since; too many lock the account until locked_until.
    failed_sign_ins smallint NOT NULL DEFAULT 0,
    failing_since   timestamptz,
    locked_until    timestamptz
);
CREATE UNIQUE INDEX reporter_accounts_email ON intake.reporter_accounts (lower(email));

-- The hash of the reporter's access code (NULL for reports from before codes: no code opens them), and
-- the account a signed-in reporter submitted from. Both columns default to NULL: no table rewrite.
ALTER TABLE intake.reports
    ADD COLUMN access_code_hash bytea CHECK (octet_length(access_code_hash) = 32),
    ADD COLUMN account_id       bigint REFERENCES intake.reporter_accounts (id);
-- "My reports" and an agency's list: newest first, paged by keyset on (submitted_at, tracking_id).
CREATE INDEX reports_by_account ON intake.reports (account_id, submitted_at DESC, tracking_id DESC)
    WHERE account_id IS NOT NULL;
CREATE INDEX reports_by_agency_newest ON intake.reports (agency_id, submitted_at DESC, tracking_id DESC)
    WHERE agency_id <> '';

-- Where to answer a reporter who wrote on X, and the message (SMS or tweet) their report came in.
ALTER TABLE intake.reporters
    ADD COLUMN x_user_id          text NOT NULL DEFAULT '',
    ADD COLUMN x_handle           text NOT NULL DEFAULT '',
    ADD COLUMN channel_message_id text NOT NULL DEFAULT '';
-- Phone numbers are kept as E.164 digits without "+" (6281234567890), as the contract says.
UPDATE intake.reporters SET phone = substr(phone, 2) WHERE phone LIKE '+%';

-- A report's files, stored with it and never published. `number` is the attachment's id within the report.
CREATE TABLE intake.attachments (
    tracking_id  text NOT NULL REFERENCES intake.reports (tracking_id),
    number       smallint NOT NULL CHECK (number BETWEEN 1 AND 5),
    filename     text NOT NULL,
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    size         integer NOT NULL CHECK (size BETWEEN 1 AND 5242880),
    sha256       bytea NOT NULL CHECK (octet_length(sha256) = 32),
    content      bytea NOT NULL,
    PRIMARY KEY (tracking_id, number)
);
-- Images and PDFs are compressed already: store them out of line without trying to compress them again.
ALTER TABLE intake.attachments ALTER COLUMN content SET STORAGE EXTERNAL;
