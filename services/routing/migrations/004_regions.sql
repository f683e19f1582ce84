-- The reference list of regions: every province (2-digit BPS code) and every regency or city
-- (4 digits, the first 2 its province's). Its rows come from services/routing/data/regions.csv,
-- which the service loads at every start (an idempotent sync); see services/routing/data/README.md.
CREATE TABLE routing.regions (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{2}([0-9]{2})?$'),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('province', 'regency', 'city')),
    parent_code text REFERENCES routing.regions (code),
    timezone    text NOT NULL CHECK (timezone IN ('Asia/Jakarta', 'Asia/Makassar', 'Asia/Jayapura')),
    -- A province is 2 digits and has no parent; a regency or city is 4 digits inside its province.
    CONSTRAINT regions_shape CHECK (
        CASE WHEN kind = 'province' THEN char_length(code) = 2 AND parent_code IS NULL
             ELSE char_length(code) = 4 AND parent_code IS NOT DISTINCT FROM left(code, 2) END)
);
CREATE INDEX regions_by_parent ON routing.regions (parent_code, code);
