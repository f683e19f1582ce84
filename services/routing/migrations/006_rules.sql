-- Routing rules managed by national administrators: one rule per category and region (the longest
-- matching region wins, so two rules of one region would leave the choice to chance), and every change
-- recorded with who made it and when.

-- Earlier, rules of one category and region could name several agencies, the higher priority winning:
-- keep the rule that won (highest priority, then the oldest) and drop the ones never chosen.
DELETE FROM routing.rules r USING routing.rules better
WHERE better.category = r.category AND better.region_prefix = r.region_prefix
  AND (better.priority, -better.id) > (r.priority, -r.id);
ALTER TABLE routing.rules DROP CONSTRAINT rules_category_region_prefix_agency_id_key,
    ADD CONSTRAINT rules_one_per_category_and_region UNIQUE (category, region_prefix);
CREATE INDEX rules_by_agency ON routing.rules (agency_id);

-- The last change of each rule, for the list; the whole history is in rule_changes.
ALTER TABLE routing.rules
    ADD COLUMN changed_by text NOT NULL DEFAULT '',
    ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();

-- Every change of a rule: what it was made (create, update) or what it was (delete). No foreign keys:
-- the history outlives the rule and the agency. idempotency_key: a repeated write returns this answer.
CREATE TABLE routing.rule_changes (
    id              bigserial PRIMARY KEY,
    idempotency_key text UNIQUE,
    rule_id         bigint NOT NULL,
    action          text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    category        text NOT NULL,
    region_prefix   text NOT NULL,
    agency_id       text NOT NULL,
    changed_by      text NOT NULL,
    changed_at      timestamptz NOT NULL
);
CREATE INDEX rule_changes_by_rule ON routing.rule_changes (rule_id, id);
