-- Issue 5: the verification console.

-- An administrator may edit a report's title when forwarding it; the reporter's own title is kept here
-- (NULL: never edited). Never published: an edit may be what hides personal data the reporter typed.
ALTER TABLE intake.reports ADD COLUMN original_title text;

-- Candidate duplicates (FindSimilarReports): reports submitted in a recent window, in any status, found
-- three ways, each a bounded index scan, newest first:
-- of the same region,
CREATE INDEX reports_by_region_newest ON intake.reports (region_code, submitted_at DESC);
-- near the same place (core PostgreSQL's GiST on points: no PostGIS or earthdistance needed),
CREATE INDEX reports_by_place ON intake.reports USING gist (point(longitude, latitude))
    WHERE latitude IS NOT NULL;
-- or sharing words: the search document of every report (the feed's GIN holds published ones only),
-- read through the GIN when the words are rare and newest first along submitted_at when they are common.
-- pg_trgm would rank better, but the embedded PostgreSQL (pgserver) does not ship it.
CREATE INDEX reports_by_words ON intake.reports USING gin (search_document);
CREATE INDEX reports_newest ON intake.reports (submitted_at DESC);
