-- A report may be routed to the agency its reporter suggested.
ALTER TABLE routing.assignments DROP CONSTRAINT assignments_matched_by_check;
ALTER TABLE routing.assignments ADD CONSTRAINT assignments_matched_by_check
    CHECK (matched_by IN ('preferred', 'suggested', 'rule', 'region', 'national'));
