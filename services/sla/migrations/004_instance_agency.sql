-- The agency a report is assigned to now, kept beside its instance so that GetCase can let that
-- agency's staff (and no other agency's) read the case without restoring the workflow. Empty while
-- no agency holds the report (before routing, after a decline until it is routed again). An instance
-- started before this column is filled the next time it is saved (its next event or timer).
ALTER TABLE sla.instances ADD COLUMN agency_id text NOT NULL DEFAULT '';
