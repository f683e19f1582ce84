-- What the cockpit and the statistics read beside each instance, so that neither restores a workflow:
-- the path the report took (the model's flow nodes it passed, in order) and its category (as submitted,
-- then as verification decided). An instance started before these columns is filled the next time it is
-- saved (its next event or timer).
ALTER TABLE sla.instances ADD COLUMN path text[] NOT NULL DEFAULT '{}';
ALTER TABLE sla.instances ADD COLUMN category text NOT NULL DEFAULT '';
-- The cockpit and ListCasesAt read the running instances of one version.
CREATE INDEX instances_running_by_version ON sla.instances (version_id) WHERE status <> 'completed';
-- The closures in GetStatistics.
CREATE INDEX stage_changes_completed ON sla.stage_changes (entered_at) WHERE stage = 'completed';
