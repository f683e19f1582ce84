-- Staff accounts of the portal (national and agency administrators, liaison officers, process
-- analysts). Sign-in comes later; the table is here so that later migrations only add to it.
CREATE TABLE portal.staff_accounts (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username = lower(username) AND length(username) BETWEEN 3 AND 64),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('national_admin', 'agency_admin', 'liaison_officer',
                                                'process_analyst')),
    agency_id     text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- agency staff belong to an agency; national staff to none
    CHECK ((role IN ('agency_admin', 'liaison_officer')) = (agency_id <> ''))
);
