-- Issue 4: richer submissions, the public feed with Indonesian full-text search, support ("dukung").
-- Every new column has a constant default, so adding them does not rewrite the table.
ALTER TABLE intake.reports
    ADD COLUMN incident_date        timestamptz,
    ADD COLUMN latitude             double precision,
    ADD COLUMN longitude            double precision,
    ADD COLUMN suggested_agency_id  text NOT NULL DEFAULT '',
    -- The published text: title, description and location redacted (phone numbers, e-mail, NIK, the
    -- reporter's own name), and the search document built from it alone, so that a search can never
    -- find a report by what redaction hides. Written by intake at submission; rows written under older
    -- redaction rules (redaction_version) are redone when intake starts.
    ADD COLUMN public_title         text NOT NULL DEFAULT '',
    ADD COLUMN public_description   text NOT NULL DEFAULT '',
    ADD COLUMN public_location_text text NOT NULL DEFAULT '',
    ADD COLUMN search_document      tsvector NOT NULL DEFAULT ''::tsvector,
    ADD COLUMN redaction_version    smallint NOT NULL DEFAULT 0,
    ADD COLUMN support_count        bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT reports_coordinates CHECK ((latitude IS NULL) = (longitude IS NULL));

-- A published report has its publication time, never before its submission: the feed's date filters
-- rely on it (see feed_straddling). A clock set back in a demo could have written one earlier.
UPDATE intake.reports SET published_at = submitted_at WHERE published_at < submitted_at;
ALTER TABLE intake.reports ADD CONSTRAINT reports_published_at
    CHECK (NOT published OR published_at IS NOT NULL AND published_at >= submitted_at);

-- Who supported which report, once each. The row of the first support keeps its answer, for a
-- repeated idempotency key.
CREATE TABLE intake.supports (
    tracking_id     text NOT NULL REFERENCES intake.reports (tracking_id),
    supporter       text NOT NULL,
    idempotency_key text NOT NULL,
    support_count   bigint NOT NULL,  -- the count this support made
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tracking_id, supporter)
);
CREATE UNIQUE INDEX supports_idempotency ON intake.supports (tracking_id, idempotency_key);

-- The public feed reads only published, non-confidential reports, newest published first, and pages
-- by keyset on (published_at, tracking_id). Every feed index is partial on exactly the predicate the
-- feed queries repeat, so it holds public reports only and a query can never use it to reach others.
-- A filter's own index starts with the filtered column, so a page is a range scan however rare the
-- value; statuses (few values, given as a list) have one for the rare ones. Submission-time filters
-- bound the scan in publication order (published_at >= submitted_at), and the reports a moment cuts
-- through, submitted before it and published after, come from feed_straddling.
CREATE INDEX feed_newest ON intake.reports (published_at DESC, tracking_id DESC)
    WHERE published AND NOT confidential;
CREATE INDEX feed_by_agency ON intake.reports (agency_id, published_at DESC, tracking_id DESC)
    WHERE published AND NOT confidential;
CREATE INDEX feed_by_category ON intake.reports (category, published_at DESC, tracking_id DESC)
    WHERE published AND NOT confidential;
CREATE INDEX feed_by_region ON intake.reports (region_code, published_at DESC, tracking_id DESC)
    WHERE published AND NOT confidential;
CREATE INDEX feed_by_province ON intake.reports (left(region_code, 2), published_at DESC, tracking_id DESC)
    WHERE published AND NOT confidential;
CREATE INDEX feed_by_status ON intake.reports (status, published_at DESC, tracking_id DESC)
    WHERE published AND NOT confidential;
CREATE INDEX feed_straddling ON intake.reports USING gist (tstzrange(submitted_at, published_at, '(]'))
    WHERE published AND NOT confidential;
CREATE INDEX feed_search ON intake.reports USING gin (search_document)
    WHERE published AND NOT confidential;
