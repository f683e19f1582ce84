-- Delivery by SMS (through the SMS gateway) and by a reply on X, beside e-mail. Only the channel is
-- kept: the phone number, the handle and the tweet to answer are asked from intake when sending.
ALTER TABLE notify.notifications DROP CONSTRAINT notifications_channel_check,
    ADD CONSTRAINT notifications_channel_check CHECK (channel IN ('in_app', 'email', 'sms', 'x'));
-- In-app notifications are stored as sent: whatever is pending or sending is for a delivery channel.
DROP INDEX notify.notifications_due;
CREATE INDEX notifications_due ON notify.notifications (next_attempt_at) WHERE status IN ('pending', 'sending');
