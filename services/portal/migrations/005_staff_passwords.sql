-- Staff passwords changed by their owner or reset by an administrator, and accounts enabled again.
-- A reset password is a temporary one: the account must set its own before any other page
-- (must_change_password). Who enabled an account last, and when, is kept beside who disabled it.
ALTER TABLE portal.staff_accounts
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN password_changed_at  timestamptz,
    ADD COLUMN password_reset_by    bigint REFERENCES portal.staff_accounts (id),
    ADD COLUMN enabled_at           timestamptz,
    ADD COLUMN enabled_by           bigint REFERENCES portal.staff_accounts (id);
