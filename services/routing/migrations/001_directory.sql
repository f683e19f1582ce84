-- The agency directory (K/L/D), routing rules and assignments.
CREATE TABLE routing.agencies (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,99}$'),
    code        text NOT NULL,
    name        text NOT NULL,
    parent_id   text REFERENCES routing.agencies (id),
    level       text NOT NULL CHECK (level IN ('national', 'ministry', 'agency', 'province', 'regency', 'city',
                                               'unit')),
    -- BPS region: 2 digits for a province, 4 for a regency or city; '' for national bodies.
    region_code text NOT NULL DEFAULT '' CHECK (region_code ~ '^([0-9]{2}|[0-9]{4})?$'),
    timezone    text NOT NULL CHECK (timezone IN ('Asia/Jakarta', 'Asia/Makassar', 'Asia/Jayapura'))
);
CREATE INDEX agencies_by_parent ON routing.agencies (parent_id);
CREATE INDEX agencies_by_region ON routing.agencies (region_code, level);

-- The national administrators' desk: the last resort of "no wrong door". It must always exist.
INSERT INTO routing.agencies (id, code, name, parent_id, level, region_code, timezone)
VALUES ('nasional', 'NASIONAL', 'Administrator Nasional SP4N-LAPOR!', NULL, 'national', '', 'Asia/Jakarta');

CREATE FUNCTION routing.keep_national_desk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 'nasional' AND (TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.level <> 'national') THEN
        RAISE EXCEPTION 'the national desk "nasional" is the last resort of routing and must stay';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER agencies_keep_national_desk BEFORE UPDATE OR DELETE ON routing.agencies
    FOR EACH ROW EXECUTE FUNCTION routing.keep_national_desk();

-- A rule sends reports of a category from regions starting with region_prefix ('' = any region) to an
-- agency. The longest matching prefix wins; among equally long prefixes the higher priority wins.
CREATE TABLE routing.rules (
    id            bigserial PRIMARY KEY,
    category      text NOT NULL,
    region_prefix text NOT NULL DEFAULT '' CHECK (region_prefix ~ '^[0-9]{0,10}$'),
    agency_id     text NOT NULL REFERENCES routing.agencies (id),
    priority      integer NOT NULL DEFAULT 0,
    UNIQUE (category, region_prefix, agency_id)
);

CREATE TABLE routing.assignments (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    tracking_id     text NOT NULL,
    agency_id       text NOT NULL REFERENCES routing.agencies (id),
    matched_by      text NOT NULL CHECK (matched_by IN ('preferred', 'rule', 'region', 'national')),
    assigned_at     timestamptz NOT NULL,
    active          boolean NOT NULL
);
CREATE UNIQUE INDEX assignments_one_active ON routing.assignments (tracking_id) WHERE active;
CREATE INDEX assignments_by_report ON routing.assignments (tracking_id, id);
