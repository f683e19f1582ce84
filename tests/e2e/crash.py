"""Crash safety: reports taken through their whole lifecycle while services are killed with SIGKILL at
random moments and restarted, and PostgreSQL crashes and restarts once.

    .venv/bin/python -m tests.e2e.crash [--reports 200] [--kill-every 2.0] [--seed N]

is the long form; tests/e2e/test_crash_safety.py runs the short one in `make test`. Both start a
PostgreSQL of their own (pgserver, data in a fresh folder under /tmp), so that it can be crashed
(`pg_ctl restart -m immediate`: no shutdown checkpoint, recovery from the WAL at start), and every
service as its own process on it, with a clock file and a real SMTP server.

The driver is a client as the portal and the consoles are: it submits every report (intake
SubmitReport, signed as the portal), forwards each from verification's queue as a national
administrator, posts each agency's follow-up as its liaison officer, then moves the clock past the
ten quiet working days. A call that fails because its service is down or restarting (UNAVAILABLE,
DEADLINE_EXCEEDED) is repeated with the same idempotency key, as a client must. Meanwhile a chaos
thread kills a service every --kill-every seconds (random within 0.5x to 1.5x), in rounds that kill
each service once in a random order, and restarts it; once every report is in verification's queue,
PostgreSQL crashes and restarts.

At the end, checked in the database and the mailbox: every report exists once and is closed, with
one submission entry and one follow-up; every case completed, none failed or waiting; no outbox
event pending or refused; every notification the lifecycle makes exists once per report and went
out at most once (no Message-ID twice in the mailbox); one that a killed notify may have handed
over without recording it is a dead letter marked "outcome unknown", never sent again.
"""

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc
import psycopg

from services.plumbing import identity
from services.plumbing.local_system import SERVICES, Mailbox, free_port
from sp4n.intake.v1 import intake_pb2
from sp4n.sla.v1 import sla_pb2
from sp4n.verification.v1 import verification_pb2
from tests.e2e.conftest import eventually, whole_system
from tests.support import caller, service_caller

PORTAL = service_caller("portal")
ADMIN = caller(identity.NATIONAL_ADMIN, "admin-crash")
RETRIED = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
# Notifications of the reporter (e-mail) every lifecycle makes, whatever the timing.
REPORTER_EVENTS = {"received", "forwarded", "follow_up_posted", "closed"}
MESSAGE_ID = re.compile(r"^Message-ID:\s*(\S+)", re.MULTILINE | re.IGNORECASE)
NOTIFICATION_ID = re.compile(r"^<sp4n-notify-(\d+)\.")  # services/notify/senders.py message_id


class PrivatePostgres:
    """A PostgreSQL server of the run's own, which it may crash and restart."""

    def __init__(self):
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="sp4n-runtime-"))
        import pgserver  # the embedded server of `make run`; imported late as there
        from pgserver._commands import pg_ctl

        self.folder = Path(tempfile.mkdtemp(prefix="sp4n-crash-"))
        self.folder.chmod(0o755)  # pgserver runs the server as its own user when we are root
        self._pg_ctl = pg_ctl
        self.server = pgserver.get_server(self.folder / "data", cleanup_mode="delete")
        self.url = self.server.get_uri()

    def crash_and_restart(self) -> None:
        """Stops the server without a checkpoint, as a crash would, and starts it again (recovery)."""
        self._pg_ctl(["-w", "-m", "immediate", "restart"], pgdata=self.server.pgdata, user=self.server.system_user,
                     timeout=120)

    def close(self) -> None:
        self.server.cleanup()  # stops the server and deletes its data folder
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Chaos:
    """Kills a service with SIGKILL every `every` seconds (0.5x to 1.5x) and restarts it."""

    system: object  # tests.e2e.conftest.Running
    every: float
    rng: random.Random
    kills: Counter = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while a service is down
    error: BaseException | None = None

    victims: list[str] = field(default_factory=list)  # the rest of the round

    def run(self) -> None:
        """Rounds in which every service is killed once, in a random order: each meets its death."""
        try:
            while not self.stop.wait(self.every * self.rng.uniform(0.5, 1.5)):
                self.victims = self.victims or self.rng.sample(SERVICES, len(SERVICES))
                self.kill(self.victims.pop())
        except BaseException as e:  # noqa: BLE001 (reported by the run)
            self.error = e

    def finish_round(self) -> None:
        """Kills what is left of the round (after the thread stopped): a short run kills every service too."""
        if not self.victims and set(self.kills) != set(SERVICES):
            self.victims = [s for s in SERVICES if s not in self.kills]
        while self.victims:
            self.kill(self.victims.pop())

    def kill(self, name: str) -> None:
        local = self.system.system
        with self.lock:
            process = local.processes[name]
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            self.kills[name] += 1
            local.start_service(name)
            local.wait_healthy(name, timeout=120)


def retried(call: Callable, request, metadata, *, within: float = 180.0):
    """`call(request)`, repeated while its service is down or restarting."""
    deadline = time.monotonic() + within
    while True:
        try:
            return call(request, metadata=metadata, timeout=15, wait_for_ready=True)
        except grpc.RpcError as e:
            if e.code() not in RETRIED or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Figures:
    reports: int
    kills: Counter
    postgres_restarts: int
    seconds: float
    mails: int
    unknown_outcomes: int  # notifications a killed notify may have handed over: dead letters, never resent

    def __str__(self) -> str:
        kills = ", ".join(f"{name} {n}" for name, n in sorted(self.kills.items())) or "none"
        return (f"{self.reports} reports closed in {self.seconds:.0f} s; {sum(self.kills.values())} kills "
                f"({kills}); PostgreSQL restarted {self.postgres_restarts}x; {self.mails} e-mails received, none "
                f"twice; {self.unknown_outcomes} notifications left with an unknown outcome")


def run(reports: int, kill_every: float, seed: int, folder: Path) -> Figures:
    rng = random.Random(seed)
    postgres = PrivatePostgres()
    started = time.monotonic()
    try:
        with Mailbox() as mailbox, whole_system(postgres.url, folder, free_port(), NOTIFY_SMTP_HOST="127.0.0.1",
                                                NOTIFY_SMTP_PORT=str(mailbox.port),
                                                NOTIFY_RETRY_BASE_SECONDS="1") as system:
            chaos = Chaos(system, kill_every, rng)
            with running_thread(chaos.run, chaos.stop):
                ids = drive(system, postgres, chaos, reports)
            if chaos.error:
                raise chaos.error
            chaos.finish_round()
            settled(system, ids)
            settle_notifications(system, postgres.url)
            unknown = check(postgres.url, mailbox, reports)
        return Figures(reports, chaos.kills, 1, time.monotonic() - started, len(mailbox.messages), unknown)
    finally:
        postgres.close()


@contextlib.contextmanager
def running_thread(target: Callable[[], None], stop: threading.Event) -> Iterator[None]:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(300)


def drive(system, postgres: PrivatePostgres, chaos: Chaos, reports: int) -> set[str]:
    """Every report through its lifecycle, phase by phase, PostgreSQL crashing half-way; their tracking IDs."""
    tracking = {}
    for n in range(reports):
        receipt = retried(system.intake.SubmitReport, intake_pb2.SubmitReportRequest(
            idempotency_key=f"crash-{n}", channel="web", type=intake_pb2.REPORT_TYPE_COMPLAINT,
            title=f"Lampu jalan mati di Jl. Raya Batulicin nomor {n}",
            description="Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan.",
            category="infrastruktur", region_code="6310", location_text="Jl. Raya Batulicin",
            reporter=intake_pb2.Reporter(name="Warga Batulicin", email=f"pelapor{n}@contoh.id")), PORTAL)
        tracking[n] = receipt.tracking_id
    ids = set(tracking.values())
    assert len(ids) == reports, "a repeated submission made a second report"

    def queued() -> set[str]:
        found, token = set(), None
        while token != "":
            page = retried(system.verification.ListQueue,
                           verification_pb2.ListQueueRequest(limit=500, page_token=token or ""), ADMIN)
            found |= {i.tracking_id for i in page.items}
            token = page.next_page_token
        return ids & found

    eventually(lambda: queued() == ids, timeout=300, what="every report in verification's queue")
    with chaos.lock:  # not while a service is restarting: one fault at a time is hard enough
        postgres.crash_and_restart()
    for tracking_id in sorted(ids):
        retried(system.verification.DecideReport, verification_pb2.DecideReportRequest(
            idempotency_key=f"forward-{tracking_id}", tracking_id=tracking_id,
            outcome=verification_pb2.OUTCOME_FORWARD, category="infrastruktur"), ADMIN)

    def forwarded(tracking_id: str) -> str:
        r = retried(system.intake.GetReport, intake_pb2.GetReportRequest(tracking_id=tracking_id), ADMIN)
        waiting = retried(system.sla.GetCase, sla_pb2.GetCaseRequest(tracking_id=tracking_id), PORTAL).waiting_for
        return r.agency_id if r.status == intake_pb2.REPORT_STATUS_FORWARDED and "follow_up_posted" in waiting else ""

    for tracking_id in sorted(ids):
        agency_id = eventually(lambda: forwarded(tracking_id), timeout=300, what=f"{tracking_id} forwarded")
        retried(system.intake.PostFollowUp, intake_pb2.PostFollowUpRequest(
            idempotency_key=f"follow-up-{tracking_id}", tracking_id=tracking_id,
            body="Lampu sudah diganti oleh tim PJU."), caller("liaison_officer", "lo-crash", agency_id))
    for tracking_id in sorted(ids):
        eventually(lambda: list(retried(system.sla.GetCase, sla_pb2.GetCaseRequest(tracking_id=tracking_id),
                                        PORTAL).waiting_for) == ["reply_posted"],
                   timeout=300, what=f"{tracking_id} waiting for the reporter's reply")
    system.clock.advance(timedelta(days=20))  # well past ten working days without a reply

    def closed() -> bool:
        return all(retried(system.intake.GetReport, intake_pb2.GetReportRequest(tracking_id=t), ADMIN).status
                   == intake_pb2.REPORT_STATUS_CLOSED for t in ids)

    eventually(closed, timeout=600, interval=1.0, what="every report closed")
    return ids


def settled(system, ids: set[str]) -> None:
    """Waits until every case has completed: a step that failed while its callee was down is retried
    with back-off, and one never retried is a case stuck."""
    def completed() -> bool:
        return all(retried(system.sla.GetCase, sla_pb2.GetCaseRequest(tracking_id=t), PORTAL).status == "completed"
                   for t in ids)

    eventually(completed, timeout=600, interval=1.0, what="every case completed")


def settle_notifications(system, url: str) -> None:
    """Waits until no notification is still to go out. A claim or sending lease that a killed notify
    left runs out by the service clock: it is moved on in small steps, far from any deadline."""
    def pending() -> int:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM notify.notifications "
                                "WHERE status IN ('pending', 'sending')").fetchone()[0]

    deadline = time.monotonic() + 600
    while pending():
        assert time.monotonic() < deadline, "notifications still pending after 10 minutes"
        system.clock.advance(timedelta(minutes=10))
        time.sleep(2)


def check(url: str, mailbox: Mailbox, reports: int) -> int:
    """Asserts the end state; returns how many notifications were left with an unknown outcome."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT idempotency_key, status FROM intake.reports").fetchall()
        assert sorted(k for k, _ in rows) == sorted(f"crash-{n}" for n in range(reports)), "lost or doubled reports"
        assert {s for _, s in rows} == {"closed"}, Counter(s for _, s in rows)
        entries = conn.execute("SELECT tracking_id, kind, count(*) FROM intake.timeline WHERE kind IN "
                               "('submitted', 'follow_up') GROUP BY 1, 2").fetchall()
        assert len(entries) == 2 * reports and {n for *_, n in entries} == {1}, "a timeline entry lost or doubled"
        cases = conn.execute("SELECT status, count(*) FROM sla.instances GROUP BY 1").fetchall()
        failed = conn.execute("SELECT tracking_id, failed_tasks, last_error FROM sla.instances "
                              "WHERE status <> 'completed' LIMIT 5").fetchall()
        assert cases == [("completed", reports)], f"cases: {cases}; for example {failed}"
        for schema in ("intake", "verification", "routing"):
            left = conn.execute(f"SELECT count(*) FILTER (WHERE delivered_at IS NULL), "
                                f"count(*) FILTER (WHERE outcome = 'rejected') FROM {schema}.outbox").fetchone()
            assert left == (0, 0), f"{schema} outbox: {left[0]} events pending, {left[1]} refused"
        notes = conn.execute("SELECT tracking_id, event, status, last_error FROM notify.notifications "
                             "WHERE recipient = 'reporter' AND channel = 'email'").fetchall()
        emails = conn.execute("SELECT id, status, last_error FROM notify.notifications "
                              "WHERE channel = 'email'").fetchall()
        made = conn.execute("SELECT tracking_id, array_agg(event || ' to ' || recipient ORDER BY event, recipient) "
                            "FROM notify.notifications WHERE channel = 'email' GROUP BY 1").fetchall()
    by_report = {}
    for tracking_id, event, *_ in notes:
        by_report.setdefault(tracking_id, set()).add(event)
    assert len(by_report) == reports and all(REPORTER_EVENTS <= events for events in by_report.values()), \
        "a reporter's e-mail notification was never made"
    kinds = Counter(tuple(events) for _, events in made)  # every report took the same path: the same e-mails
    assert len(kinds) == 1 and sum(kinds.values()) == reports, f"reports that got other e-mails: {kinds}"
    unknown = [row for row in emails if row[1] == "failed"]
    assert all("outcome unknown" in row[2] for row in unknown), f"dead letters for other reasons: {unknown}"
    assert {row[1] for row in emails} <= {"sent", "failed"}
    ids = Counter(m.group(1) for _, body in mailbox.messages if (m := MESSAGE_ID.search(body)))
    assert len(ids) == len(mailbox.messages), "a received e-mail without a Message-ID"
    twice = [i for i, n in ids.items() if n > 1]
    assert not twice, f"e-mails delivered twice: {twice}"
    received = {int(m.group(1)) for i in ids if (m := NOTIFICATION_ID.search(i))}
    sent = {row[0] for row in emails if row[1] == "sent"}
    assert sent <= received, f"e-mails recorded as sent that never arrived: {[r for r in emails if r[0] in sent - received]}"
    assert received <= sent | {row[0] for row in emails if row[1] == "failed"}, "an e-mail arrived that notify never made"
    return len(unknown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills (mean)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sp4n-crash-logs-") as folder:
        print(f"seed {args.seed}")
        print(run(args.reports, args.kill_every, args.seed, Path(folder)))


if __name__ == "__main__":
    main()
