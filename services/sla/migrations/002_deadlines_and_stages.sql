-- Every deadline of every report, met or breached and how late: the record behind GetCase and
-- the statistics. One row per deadline timer the process armed (its task id).
CREATE TABLE sla.deadlines (
    task_id      uuid PRIMARY KEY,
    tracking_id  text NOT NULL,
    name         text NOT NULL,   -- the timer element's id in the model
    owner        text NOT NULL,   -- agency id, or 'national'
    due_at       timestamptz NOT NULL,
    started_at   timestamptz NOT NULL,
    met_at       timestamptz,     -- what it waited for happened (possibly late)
    breached_at  timestamptz      -- it passed unmet (the due time itself)
);
CREATE INDEX deadlines_by_report ON sla.deadlines (tracking_id, started_at);
CREATE INDEX deadlines_open ON sla.deadlines (tracking_id) WHERE met_at IS NULL;
CREATE INDEX deadlines_breached_by_owner ON sla.deadlines (owner, breached_at) WHERE breached_at IS NOT NULL;

-- Where each report has been in its process, and when it got there.
CREATE TABLE sla.stage_changes (
    id           bigserial PRIMARY KEY,
    tracking_id  text NOT NULL,
    stage        text NOT NULL,
    entered_at   timestamptz NOT NULL
);
CREATE INDEX stage_changes_by_report ON sla.stage_changes (tracking_id, id);

ALTER TABLE sla.instances ADD COLUMN stage text NOT NULL DEFAULT '';

-- Versions numbered per process in order of first deployment.
ALTER TABLE sla.process_versions ADD COLUMN version integer;
UPDATE sla.process_versions v SET version = n.rn
  FROM (SELECT id, row_number() OVER (PARTITION BY process_id ORDER BY id) AS rn FROM sla.process_versions) n
 WHERE v.id = n.id;
ALTER TABLE sla.process_versions ALTER COLUMN version SET NOT NULL;
ALTER TABLE sla.process_versions ADD CONSTRAINT process_versions_number UNIQUE (process_id, version);
