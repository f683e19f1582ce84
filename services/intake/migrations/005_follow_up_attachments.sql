-- Follow-ups with files. An attachment still belongs to its report and is named by (tracking_id, number),
-- so that GetAttachment serves the report's files and the agency's alike to whoever may see the report;
-- one posted with a follow-up also names that timeline entry. Its number goes on from the report's own
-- (1 to 5), hence the wider range (attachment ids are at most four digits). Existing rows are the
-- reports' own files: entry_id NULL, no table rewrite.
ALTER TABLE intake.attachments
    ADD COLUMN entry_id bigint REFERENCES intake.timeline (id),
    DROP CONSTRAINT attachments_number_check,
    ADD CONSTRAINT attachments_number_check CHECK (number BETWEEN 1 AND 9999);
