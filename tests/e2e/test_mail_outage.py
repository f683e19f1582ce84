"""The mail server is down while reports come in, through every service running as its own process: the
receipts wait in notify's outbox and arrive once each when it is back."""

from collections import Counter
from datetime import timedelta

import pytest

from sp4n.notify.v1 import notify_pb2
from tests.e2e.conftest import eventually, whole_system
from tests.e2e.test_report_lifecycle import submit_through_the_portal
from tests.notify.fakes import SmtpServer, free_port
from tests.support import service_caller

pytestmark = pytest.mark.e2e

REPORTS = 6


def receipts(running, tracking_id) -> list[notify_pb2.Notification]:
    listed = running.notify.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                              metadata=service_caller("portal")).notifications
    return [n for n in listed if (n.event, n.recipient, n.channel) == ("received", "reporter", "email")]


def test_receipts_queued_while_the_mail_server_is_down_arrive_once_each_when_it_is_back(make_database, tmp_path):
    smtp = SmtpServer()  # not started: the mail server is down
    with whole_system(make_database(), tmp_path, free_port(), NOTIFY_SMTP_HOST="127.0.0.1",
                      NOTIFY_SMTP_PORT=str(smtp.port), NOTIFY_POLL_SECONDS="0.2",
                      NOTIFY_RETRY_BASE_SECONDS="60") as running:
        ids = [submit_through_the_portal(running.portal) for _ in range(REPORTS)]
        for tracking_id in ids:
            # attempts counts an attempt from its claim; last_error says it has failed.
            [receipt] = eventually(lambda: [n for n in receipts(running, tracking_id) if n.last_error],
                                   what=f"a first failed attempt at {tracking_id}'s receipt")
            assert receipt.status == "pending" and "ConnectionRefusedError" in receipt.last_error
        assert smtp.mailbox.messages == []

        smtp.start()
        try:
            running.clock.advance(timedelta(minutes=2))  # every first retry is due (at most one turn of 60 s)
            for tracking_id in ids:
                eventually(lambda: [n.status for n in receipts(running, tracking_id)] == ["sent"],
                           what=f"{tracking_id}'s receipt delivered")
            running.clock.advance(timedelta(days=1))
            eventually(lambda: all(receipts(running, t)[0].attempts == 2 for t in ids), what="no more attempts")
        finally:
            smtp.stop()
    got = Counter(tracking_id for m in smtp.mailbox.messages for tracking_id in ids
                  if m["X-SP4N-Tracking-ID"] == tracking_id and m["To"] == "pelapor@contoh.id")
    assert got == {tracking_id: 1 for tracking_id in ids}
