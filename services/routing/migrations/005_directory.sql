-- The directory, checked. Agencies are deactivated rather than deleted once anything refers to them
-- (assignments, rules); a regional agency's region is on the reference list; liaison officers'
-- contacts are directory data; each import of the directory is logged.
ALTER TABLE routing.agencies ADD COLUMN active boolean NOT NULL DEFAULT true;

-- A national body has no region: NULL (was ''), so that the region can reference the list. NOT VALID:
-- the list is loaded at start, after the migrations, so rows written before it are not checked now;
-- every write from here on is, and a region still used by an agency cannot leave the list.
ALTER TABLE routing.agencies ALTER COLUMN region_code DROP DEFAULT, ALTER COLUMN region_code DROP NOT NULL;
UPDATE routing.agencies SET region_code = NULL WHERE region_code = '';
ALTER TABLE routing.agencies
    ADD CONSTRAINT agencies_region_listed FOREIGN KEY (region_code) REFERENCES routing.regions (code) NOT VALID,
    ADD CONSTRAINT agencies_one_top CHECK ((parent_id IS NULL) = (id = 'nasional')),
    ADD CONSTRAINT agencies_national_is_the_desk CHECK ((level = 'national') = (id = 'nasional'));
CREATE INDEX agencies_by_name ON routing.agencies (lower(name));

-- The national desk stays, stays national, and stays active: it is the last resort of routing.
CREATE OR REPLACE FUNCTION routing.keep_national_desk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 'nasional' AND (TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.level <> 'national'
                                OR NOT NEW.active) THEN
        RAISE EXCEPTION 'the national desk "nasional" is the last resort of routing and must stay';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- Who to contact at an agency about the reports it holds. Their logins are the portal's, not these.
CREATE TABLE routing.liaison_officers (
    id        bigserial PRIMARY KEY,
    agency_id text NOT NULL REFERENCES routing.agencies (id) ON DELETE CASCADE,
    name      text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    position  text NOT NULL DEFAULT '' CHECK (char_length(position) <= 200),
    email     text NOT NULL DEFAULT '' CHECK (char_length(email) <= 254),
    phone     text NOT NULL DEFAULT '' CHECK (char_length(phone) <= 30),
    CONSTRAINT liaison_officers_reachable CHECK (email <> '' OR phone <> '')
);
CREATE UNIQUE INDEX liaison_officers_one_per_name ON routing.liaison_officers (agency_id, lower(name));

-- Every import that changed the directory, and every one sent with an idempotency key (whose
-- repeat returns the recorded summary).
CREATE TABLE routing.directory_imports (
    id                      bigserial PRIMARY KEY,
    idempotency_key         text UNIQUE,
    imported_by             text NOT NULL,
    imported_at             timestamptz NOT NULL,
    agencies_sha256         text NOT NULL,
    liaison_officers_sha256 text NOT NULL DEFAULT '',
    summary                 jsonb NOT NULL
);
