"""Complete report lifecycles per second through the whole system, with simulated time (issue 8).

    .venv/bin/python -m bench.lifecycle [--reports 1000] [--clients 16]

Starts every service as its own process (services.plumbing.local_system.whole_system, as the
end-to-end tests do: demo directory, a clock file, short poll intervals) on a throwaway database
sp4n_bench_<random> on the server bench.intake.server_url() names, with e-mail going to a real SMTP
server in this process (aiosmtpd) and no SMS gateway or X API (notify then sends e-mail and in-app
only, as in tests/e2e/test_report_lifecycle.py). The clock is set to Monday 2026-11-30 09:00 WIB.

Then it drives --reports web complaints (infrastructure in region 6310, which the demo directory routes
to the Tanah Bumbu public-works agency) through the lifecycle of that test, phase by phase with every
report in flight at once, as a day with thousands of reports in each stage would have them:

  A  submit      intake.SubmitReport signed as the portal, from --clients threads; until every report is in
                 verification's queue and its case waits for the decision
  B  forward     verification.DecideReport (forward) as a national administrator; until every report is
                 forwarded and published and its case waits for the agency
  C  follow-up   intake.PostFollowUp as the agency's liaison officer; until every case waits for a reply
  D  closure     the clock moved 20 days on (past the 10 working days), once; until every report is closed,
                 every case completed and every notification delivered

A phase's time runs from its first call until the system has carried every report to that state (the
service processes do the rest of the step themselves: outbox relays, sla's process, notify's delivery).
The overall rate is reports / (first submission to the end of D). The figures printed: per phase and
overall rates; the rate against the engine alone (bench.engine's in-memory cost of one lifecycle,
measured in this run); notifications by event and channel, and the e-mail the SMTP server received;
the CPU seconds each service process, the PostgreSQL processes and this process used in each phase
(from /proc), and per lifecycle the gRPC calls each service answered (from its /metrics) and the
transactions and rows PostgreSQL counted for the database: together they say where a lifecycle's cost
goes. The machine's busy time is printed beside it: CPU that other work on the machine took is not the
system's, and makes the rates lower than on a quiet machine.

Checked at the end, or the benchmark fails: every report closed, every case completed, each report's
reporter notified of received, forwarded and closed by e-mail and of the follow-up in the app, each
e-mail to the reporter and the agency's new-assignment e-mail received by the SMTP server, no
notification failed. The services must stop with exit code 0; the database is dropped.

Driving phase by phase rather than one report at a time end to end: the first measures throughput
with the same amount of work per lifecycle; phase D's timer firing is then one burst of --reports due
timers, as the end of a quiet period is for all the reports followed up on one day.
"""

import argparse
import os
import re
import secrets
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

from bench.engine import lifecycle_costs
from bench.intake import server_url, submission
from bench.support import CpuMeter, throwaway_database
from services.plumbing import identity
from services.plumbing.local_system import SERVICES, Mailbox, Running, free_port, whole_system
from sp4n.intake.v1 import intake_pb2
from sp4n.verification.v1 import verification_pb2

WIB = timezone(timedelta(hours=7))
START = datetime(2026, 11, 30, 9, 0, tzinfo=WIB)  # a Monday; no holiday in the next 10 working days
CLOSURE_JUMP = timedelta(days=20)  # past 10 working days after the follow-up
AGENCY_NAME = "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Tanah Bumbu"
REPORTERS_DOMAIN = "@contoh.id"  # of every reporter's address (bench.intake.reporter_of); no agency's
# What each report's reporter must have been sent, (event, channel): with an e-mail address given, every
# step is told by e-mail and in the app.
REPORTER_NOTIFICATIONS = {(event, channel) for event in ("received", "forwarded", "follow_up_posted", "closed")
                          for channel in ("email", "in_app")}
MAILS_TO_REPORTER = 4
POLL_SECONDS = 0.2  # how often the driver looks whether a phase is done: a phase's time is up to this late
AWAITING_AGENCY = "{agency_declined,agency_dispatched,follow_up_posted}"
TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")
SERVED = re.compile(r'^sp4n_grpc_server_requests_total\{code="\w+",method="/[\w.]+/(\w+)",service="(\w+)"\} (\S+)$',
                    re.MULTILINE)
STATS_FLUSH_SECONDS = 11  # PostgreSQL 15 flushes an idle backend's statistics within 10 s

# The state every report reaches at the end of each phase, as counts the benchmark polls for.
QUEUED = ["SELECT count(*) FROM verification.queue WHERE status = 'pending'",
          "SELECT count(*) FROM sla.instances WHERE waiting_for = '{verification_decided}'"]
FORWARDED = ["SELECT count(*) FROM intake.reports WHERE status = 'forwarded' AND published",
             f"SELECT count(*) FROM sla.instances WHERE waiting_for = '{AWAITING_AGENCY}'"]
FOLLOWED_UP = ["SELECT count(*) FROM intake.reports WHERE status = 'followed_up'",
               "SELECT count(*) FROM sla.instances WHERE waiting_for = '{reply_posted}'"]
CLOSED = ["SELECT count(*) FROM intake.reports WHERE status = 'closed'",
          "SELECT count(*) FROM sla.instances WHERE status = 'completed'",
          # every report, once no notification is waiting to be delivered
          "SELECT count(*) FROM intake.reports WHERE NOT EXISTS "
          "(SELECT FROM notify.notifications WHERE status IN ('pending', 'sending'))"]


def signed(caller: identity.Caller, key: str) -> list[tuple[str, str]]:
    """Call metadata for `caller`, valid for longer than any run."""
    return [(identity.METADATA_KEY, identity.sign(caller, key, lifetime=timedelta(hours=2)))]


def each(items: Iterable, clients: int, call: Callable) -> list:
    """`call(item)` for every item, from `clients` threads; the answers in the items' order. The first
    error stops the others and is raised."""
    items = list(items)
    answers: list = [None] * len(items)
    positions = iter(range(len(items)))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client() -> None:
        while not errors:
            with lock:
                i = next(positions, None)
            if i is None:
                return
            try:
                answers[i] = call(items[i])
            except BaseException as e:  # noqa: BLE001 (raised below)
                errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"a call failed: {errors[0]!r}") from errors[0]
    return answers


def served_calls(running: Running) -> Counter:
    """The gRPC calls each service has answered so far, by (service, method), from its /metrics."""
    calls: Counter = Counter()
    for name in SERVICES:
        port = running.system.env[f"{name.upper()}_METRICS_PORT"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            for method, service, value in SERVED.findall(response.read().decode()):
                calls[(service, method)] += float(value)
    return calls


def database_work(conn: psycopg.Connection, database: str) -> Counter:
    """Transactions and rows written so far in `database`, as PostgreSQL's statistics have them."""
    row = conn.execute("SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
                       "FROM pg_stat_database WHERE datname = %s", (database,)).fetchone()
    return Counter(dict(zip(("commits", "rollbacks", "rows inserted", "rows updated", "rows deleted"), row)))


class Phases:
    """The phases' timings and CPU snapshots, each reported as it ends, and the gRPC calls and database
    work of them all."""

    def __init__(self, conn: psycopg.Connection, running: Running, meter: CpuMeter, reports: int):
        self.conn, self.running, self.meter, self.reports = conn, running, meter, reports
        self.rows: list[dict] = []
        self.cpu = [meter.snapshot()]
        self.calls, self.work = served_calls(running), database_work(conn, meter.database)

    def count_work(self) -> None:
        """The gRPC calls and database work since the start, which become per-lifecycle figures. Waits
        for the backends' statistics first: the pollers' idle transactions of that wait are counted too."""
        time.sleep(STATS_FLUSH_SECONDS)
        self.calls = served_calls(self.running) - self.calls
        self.work = database_work(self.conn, self.meter.database) - self.work

    def run(self, name: str, calls: Callable[[], object], until: list[str]):
        """Makes the phase's calls, then waits until every count in `until` reaches the number of reports."""
        started = time.perf_counter()
        answers = calls()
        called = time.perf_counter()
        self.wait(until, name)
        ended = time.perf_counter()
        self.cpu.append(self.meter.snapshot())
        self.rows.append({"name": name, "started": started, "calls": called - started, "ended": ended})
        print(f"  {name:<10} calls {called - started:6.1f} s, done after {ended - started:6.1f} s: "
              f"{self.reports / (ended - started):6.1f} reports/s", flush=True)
        return answers

    def wait(self, counts: list[str], what: str) -> None:
        """Polls the counts until each equals the number of reports; fails when a service exits or when
        progress stops for a minute. Every POLL_SECONDS, and a count only once those before it are
        complete: the polls' scans are PostgreSQL CPU that the figures count as the system's (polling
        every 50 ms, every count each time, they were a tenth of it)."""
        last, moved = None, time.monotonic()
        while True:
            now = []
            for query in counts:
                now.append(self.conn.execute(query).fetchone()[0])
                if now[-1] != self.reports:
                    break
            if len(now) == len(counts) and all(n == self.reports for n in now):
                return
            if now != last:
                last, moved = now, time.monotonic()
            if dead := self.running.system.exited():
                raise RuntimeError(f"{what}: a service exited {dead}")
            if time.monotonic() - moved > 60:
                raise RuntimeError(f"{what}: no progress for 60 s at {now} of {self.reports} ({counts})")
            time.sleep(POLL_SECONDS)


def drive(running: Running, conn: psycopg.Connection, phases: Phases, clients: int) -> list[str]:
    """The four phases for every report; their tracking IDs."""
    key = running.identity_key
    portal = signed(identity.Caller("portal", identity.SERVICE), key)
    admin = signed(identity.Caller("admin-bench", identity.NATIONAL_ADMIN), key)
    run_id = secrets.token_hex(4)

    def submit(n: int) -> str:
        answer = running.intake.SubmitReport(submission(f"lifecycle-{run_id}-{n}"), metadata=portal, timeout=60)
        return answer.tracking_id

    def forward(tracking_id: str) -> None:
        running.verification.DecideReport(verification_pb2.DecideReportRequest(
            idempotency_key=f"decide-{tracking_id}", tracking_id=tracking_id,
            outcome=verification_pb2.OUTCOME_FORWARD, category="infrastruktur"), metadata=admin, timeout=60)

    tracking_ids = phases.run("A submit", lambda: each(range(phases.reports), clients, submit), QUEUED)
    phases.run("B forward", lambda: each(tracking_ids, clients, forward), FORWARDED)
    agencies = conn.execute("SELECT agency_id, agency_name FROM intake.reports GROUP BY 1, 2").fetchall()
    if len(agencies) != 1 or agencies[0][1] != AGENCY_NAME:
        raise RuntimeError(f"the reports went to {agencies}, not only to {AGENCY_NAME}")
    liaison = signed(identity.Caller("lo-pupr", identity.LIAISON_OFFICER, agencies[0][0]), key)

    def follow_up(tracking_id: str) -> None:
        running.intake.PostFollowUp(intake_pb2.PostFollowUpRequest(
            idempotency_key=f"fu-{tracking_id}", tracking_id=tracking_id,
            body="Lampu sudah diganti oleh tim PJU pada hari ini."), metadata=liaison, timeout=60)

    phases.run("C follow-up", lambda: each(tracking_ids, clients, follow_up), FOLLOWED_UP)
    phases.run("D closure", lambda: running.clock.advance(CLOSURE_JUMP), CLOSED)
    return tracking_ids


def check(conn: psycopg.Connection, mailbox: Mailbox, tracking_ids: list[str]) -> tuple[Counter, Counter]:
    """Fails unless every report's lifecycle is complete and every notification it needed went out;
    the notifications by (event, channel, status) and the e-mails received per tracking ID."""
    wanted = set(tracking_ids)
    if len(wanted) != len(tracking_ids) or not all(TRACKING_ID.fullmatch(t) for t in wanted):
        raise RuntimeError("SubmitReport answered with a repeated or malformed tracking ID")
    problems = []
    for query, what in [("SELECT tracking_id FROM intake.reports WHERE status = 'closed'", "reports closed"),
                        ("SELECT tracking_id FROM sla.instances WHERE status = 'completed'", "cases completed")]:
        if (found := {t for (t,) in conn.execute(query)}) != wanted:
            problems.append(f"{what}: {len(found & wanted)} of {len(wanted)}, {len(found - wanted)} unknown")
    sent: dict[str, set] = {t: set() for t in wanted}
    for tracking_id, event, channel in conn.execute(
            "SELECT tracking_id, event, channel FROM notify.notifications WHERE recipient = 'reporter' "
            "AND status = 'sent'"):
        sent.setdefault(tracking_id, set()).add((event, channel))
    if missing := {t: REPORTER_NOTIFICATIONS - got for t, got in sent.items() if REPORTER_NOTIFICATIONS - got}:
        problems.append(f"{len(missing)} reporters not notified of everything, e.g. {next(iter(missing.items()))}")
    notifications = Counter(conn.execute(
        "SELECT recipient, event, channel, status FROM notify.notifications").fetchall())
    if failed := sum(n for (_, _, _, status), n in notifications.items() if status != "sent"):
        problems.append(f"{failed} notifications not sent")
    with mailbox.lock:
        mails = list(mailbox.messages)
    to_reporter, to_agency = Counter(), Counter()
    for rcpts, body in mails:
        (to_reporter if all(r.endswith(REPORTERS_DOMAIN) for r in rcpts) else to_agency).update(set(TRACKING_ID.findall(body)))
    if short := [t for t in wanted if to_reporter[t] < MAILS_TO_REPORTER or to_agency[t] < 1]:
        problems.append(f"{len(short)} reports without {MAILS_TO_REPORTER} e-mails to the reporter and 1 to the "
                        f"agency, "
                        f"e.g. {short[0]}: {to_reporter[short[0]]} and {to_agency[short[0]]}")
    if problems:
        raise RuntimeError("the lifecycles are not complete:\n  " + "\n  ".join(problems))
    repeated = sum(to_reporter[t] - MAILS_TO_REPORTER + to_agency[t] - 1 for t in wanted)  # at least once
    return notifications, Counter(mails=len(mails), to_reporter=sum(to_reporter.values()),
                                  to_agency=sum(to_agency.values()), repeated=repeated)


def engine_baseline(n: int = 100) -> float:
    """bench.engine's median seconds per lifecycle, measured now on this machine."""
    return statistics.median(lifecycle_costs(n)[1])


def print_cpu(phases: Phases, reports: int) -> None:
    names = [row["name"] for row in phases.rows]
    print("\nCPU seconds per phase (/proc utime+stime), and per lifecycle over the whole run:")
    print(f"  {'process':<26}" + "".join(f"{n:>12}" for n in names) + f"{'total':>10}{'ms/lifecycle':>14}")
    for process in phases.cpu[0]:
        used = [after[process] - before[process] for before, after in zip(phases.cpu, phases.cpu[1:])]
        print(f"  {process:<26}" + "".join(f"{u:12.1f}" for u in used)
              + f"{sum(used):10.1f}{sum(used) / reports * 1000:14.2f}")
    wall = phases.rows[-1]["ended"] - phases.rows[0]["started"]
    busy = phases.cpu[-1]["machine (all cores)"] - phases.cpu[0]["machine (all cores)"]
    ours = sum(after - before for process, (before, after) in
               ((p, (phases.cpu[0][p], phases.cpu[-1][p])) for p in phases.cpu[0])
               if process not in ("postgres (other)", "machine (all cores)"))
    print(f"  the machine's {os.cpu_count()} cores were busy {busy / (wall * os.cpu_count()):.0%} of the run; "
          f"{busy - ours:.1f} s of it was not the benchmark's processes (other work on the machine)")
    print(f"  with every core to the system: at most {os.cpu_count() * reports / ours:.0f} lifecycles/s "
          f"({ours / reports * 1000:.0f} ms of CPU per lifecycle in the services, their PostgreSQL backends and "
          f"the benchmark's process)")


def print_work(phases: Phases, reports: int) -> None:
    by_service: Counter = Counter()
    for (service, _), n in phases.calls.items():
        by_service[service] += n
    print(f"\nper lifecycle: {sum(phases.calls.values()) / reports:.1f} gRPC calls answered ("
          + ", ".join(f"{s} {n / reports:.1f}" for s, n in by_service.most_common()) + ")")
    print("  " + ", ".join(f"{s}.{m} {n / reports:.1f}" for (s, m), n in phases.calls.most_common() if n))
    print("  PostgreSQL: " + ", ".join(f"{what} {n / reports:.1f}" for what, n in phases.work.items())
          + f" (pollers' idle transactions included, {STATS_FLUSH_SECONDS} s of them after the run)")


def report(args, phases: Phases, notifications: Counter, mails: Counter, engine_seconds: float) -> None:
    first, last = phases.rows[0]["started"], phases.rows[-1]["ended"]
    rate = args.reports / (last - first)
    print(f"\nlifecycle, whole system: {args.reports} reports, {args.clients} client threads, "
          f"{os.cpu_count()} cores, PostgreSQL on {psycopg.conninfo.conninfo_to_dict(server_url()).get('host')}")
    print(f"  {'phase':<12}{'calls s':>9}{'calls/s':>9}{'phase s':>9}{'reports/s':>11}")
    for row in phases.rows:
        took = row["ended"] - row["started"]
        calls = f"{args.reports / row['calls']:9.0f}" if row["name"] != "D closure" else f"{'(clock)':>9}"
        print(f"  {row['name']:<12}{row['calls']:9.1f}{calls}{took:9.1f}{args.reports / took:11.1f}")
    print(f"  complete lifecycles: {args.reports} in {last - first:.1f} s = {rate:.1f} lifecycles/s "
          f"(target 100/s: {'met' if rate >= 100 else 'not met'})")
    print(f"  engine alone (bench.engine, in memory): {engine_seconds * 1000:.1f} ms per lifecycle = "
          f"{1 / engine_seconds:.0f}/s on one core; whole system / engine alone = {rate * engine_seconds:.2f}")
    print("\nnotifications (recipient, event, channel: count, all sent): "
          + ", ".join(f"{r} {e} {c}: {n}" for (r, e, c, _), n in sorted(notifications.items())))
    print(f"e-mails received by the SMTP server: {mails['mails']} ({mails['to_reporter']} to reporters, "
          f"{mails['to_agency']} to the agency's liaison officers; "
          f"{mails['repeated']} received twice)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()

    engine_seconds = engine_baseline()
    folder = Path(tempfile.mkdtemp(prefix="sp4n-lifecycle-"))
    with throwaway_database(server_url()) as (target, name), Mailbox() as mailbox:
        with whole_system(target, folder, free_port(), identity_key=secrets.token_urlsafe(32),
                          NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(mailbox.port)) as running, \
                psycopg.connect(target, autocommit=True) as conn:
            running.clock.set(START)
            print(f"whole system started (logs in {folder}); driving {args.reports} reports:", flush=True)
            phases = Phases(conn, running, CpuMeter({n: [running.system.processes[n].pid] for n in SERVICES}, conn, name), args.reports)
            tracking_ids = drive(running, conn, phases, args.clients)
            notifications, mails = check(conn, mailbox, tracking_ids)
            phases.count_work()
        print("every service stopped with exit code 0")  # whole_system fails otherwise
    shutil.rmtree(folder)  # kept when the run failed: the services' logs say why
    report(args, phases, notifications, mails, engine_seconds)
    print_cpu(phases, args.reports)
    print_work(phases, args.reports)


if __name__ == "__main__":
    main()
