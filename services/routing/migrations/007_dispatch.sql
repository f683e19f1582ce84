-- An agency administrator dispatches (disposisi) a report their agency holds to one of the agencies
-- directly under it: a new assignment, matched by 'dispatch', that says who dispatched it and the
-- instruction they gave. The idempotency key of a dispatch is the new assignment's own.
ALTER TABLE routing.assignments DROP CONSTRAINT assignments_matched_by_check;
ALTER TABLE routing.assignments ADD CONSTRAINT assignments_matched_by_check
    CHECK (matched_by IN ('preferred', 'suggested', 'rule', 'region', 'national', 'dispatch'));
ALTER TABLE routing.assignments
    ADD COLUMN dispatched_by   text,
    ADD COLUMN dispatch_note   text CHECK (char_length(dispatch_note) <= 2000),
    ADD CONSTRAINT assignments_dispatch_whole CHECK ((matched_by = 'dispatch') = (dispatched_by IS NOT NULL));
