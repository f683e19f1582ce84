-- Corrections to the working-day calendar by later decrees: a date made a day off, or a working
-- day after all. Rows are never deleted: an override withdrawn by a decree (removed_key set) or
-- superseded by a newer one on the same date (removed_key empty) is kept, marked removed.
CREATE TABLE sla.calendar_overrides (
    id                bigserial PRIMARY KEY,
    day               date NOT NULL,
    working           boolean NOT NULL,
    reference         text NOT NULL CHECK (reference <> ''),
    description       text NOT NULL DEFAULT '',
    set_at            timestamptz NOT NULL,
    set_by            text NOT NULL,
    set_key           text NOT NULL UNIQUE,  -- idempotency key of the SetCalendarOverride call
    removed_at        timestamptz,
    removed_by        text,
    removed_reference text,                  -- the decree that withdrew or superseded it
    removed_key       text UNIQUE,           -- idempotency key of the RemoveCalendarOverride call
    -- Renumbered on every change, under one lock: a calendar that has loaded revision r has seen every
    -- change up to r, so max(revision) is the cheap question running calendars ask before reloading.
    revision          bigint NOT NULL,
    CHECK ((removed_at IS NULL) = (removed_by IS NULL) AND (removed_at IS NULL) = (removed_reference IS NULL))
);
CREATE SEQUENCE sla.calendar_revisions OWNED BY sla.calendar_overrides.revision;
ALTER TABLE sla.calendar_overrides ALTER COLUMN revision SET DEFAULT nextval('sla.calendar_revisions');
CREATE UNIQUE INDEX calendar_overrides_in_force ON sla.calendar_overrides (day) WHERE removed_at IS NULL;
CREATE INDEX calendar_overrides_by_revision ON sla.calendar_overrides (revision);
