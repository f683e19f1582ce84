-- Dead letters (status 'failed': given up on after the last attempt) can be sent again by a national
-- administrator: each resend is counted and the last one recorded with who and when. `resend_key` is
-- the idempotency key of the last resend, so that a repeated request answers as the first did.
ALTER TABLE notify.notifications
    ADD COLUMN resends    integer NOT NULL DEFAULT 0,
    ADD COLUMN resent_by  text NOT NULL DEFAULT '',
    ADD COLUMN resent_at  timestamptz,
    ADD COLUMN resend_key text UNIQUE;
-- The dead letters, newest first, for the staff who look after them.
CREATE INDEX notifications_dead_letters ON notify.notifications (id DESC) WHERE status = 'failed';
-- A staff member's inbox: in-app notifications to an agency or to national administrators, newest first.
CREATE INDEX notifications_inbox ON notify.notifications (recipient, agency_id, id DESC)
    WHERE channel = 'in_app' AND recipient <> 'reporter';
