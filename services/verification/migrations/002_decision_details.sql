-- Issue 5: what the verification console decides. Every new column has a constant default, so adding
-- them does not rewrite the table.
ALTER TABLE verification.decisions
    ADD COLUMN archive_reason text CHECK (archive_reason IN ('format_error', 'too_general', 'not_public_service',
                                                             'handled_elsewhere', 'abusive', 'other')),
    ADD COLUMN title          text NOT NULL DEFAULT '',       -- forward: the administrator's edit of the title
    ADD COLUMN anonymous      boolean NOT NULL DEFAULT false, -- forward: sets the report's flag
    ADD COLUMN confidential   boolean NOT NULL DEFAULT false;

-- The reports marked duplicates of a report, for its detail page and the check that a duplicate's original
-- is not itself a duplicate.
CREATE INDEX decisions_duplicates ON verification.decisions (duplicate_of) WHERE outcome = 'duplicate';
