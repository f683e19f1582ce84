"""The verification queue and decisions, through a real gRPC server and PostgreSQL."""

import threading
from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest

from services.verification import grpc_api
from services.verification.service import VerificationService
from sp4n.verification.v1 import verification_pb2 as pb
from sp4n.verification.v1 import verification_pb2_grpc
from tests.support import caller, field_violation, service_caller

SLA = service_caller("sla")
ADMIN = caller("national_admin", "admin-1")
T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)
REPORT, OTHER, THIRD = "LAP-AAAA0001", "LAP-AAAA0002", "LAP-AAAA0003"


@pytest.fixture
def stub(serve, pool, clock):
    clock.set(T0)
    channel = serve("verification", grpc_api.register(VerificationService(pool=pool, clock=clock)))
    return verification_pb2_grpc.VerificationServiceStub(channel)


def enqueue(stub, tracking_id=REPORT, key=None, due=T0 + timedelta(days=3)):
    request = pb.EnqueueReportRequest(idempotency_key=key or f"enq-{tracking_id}", tracking_id=tracking_id)
    request.submitted_at.FromDatetime(T0)
    request.due_at.FromDatetime(due)
    return stub.EnqueueReport(request, metadata=SLA)


def decide(stub, key="d1", tracking_id=REPORT, metadata=ADMIN, **fields):
    return stub.DecideReport(pb.DecideReportRequest(idempotency_key=key, tracking_id=tracking_id, **fields),
                             metadata=metadata)


def refused(code, call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        call(*args, **kwargs)
    assert e.value.code() == code, e.value.details()
    return e.value


def outbox_rows(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT kind, tracking_id, payload FROM verification.outbox ORDER BY id").fetchall()


def stored(database_url):
    """Everything a decision may change: decisions, queue statuses, outbox events."""
    with psycopg.connect(database_url) as conn:
        return (conn.execute("SELECT count(*) FROM verification.decisions").fetchone()[0],
                conn.execute("SELECT tracking_id, status FROM verification.queue ORDER BY 1").fetchall(),
                conn.execute("SELECT count(*) FROM verification.outbox").fetchone()[0])


def queue(stub, **fields):
    return stub.ListQueue(pb.ListQueueRequest(**fields), metadata=ADMIN).items


# The queue

def test_the_queue_lists_open_reports_earliest_deadline_first(stub):
    enqueue(stub, OTHER, due=T0 + timedelta(days=5))
    enqueue(stub, REPORT, due=T0 + timedelta(days=3))
    items = queue(stub)
    assert [i.tracking_id for i in items] == [REPORT, OTHER]
    assert all(i.status == pb.QUEUE_STATUS_PENDING and not i.HasField("last_decision") for i in items)


def all_pages(stub, **fields) -> tuple[list[str], int]:
    """The tracking ids of the whole queue read a page at a time, and how many pages it took."""
    seen, token, pages = [], "", 0
    while True:
        page = stub.ListQueue(pb.ListQueueRequest(page_token=token, **fields), metadata=ADMIN)
        seen += [i.tracking_id for i in page.items]
        pages += 1
        if not page.next_page_token:
            return seen, pages
        token = page.next_page_token


def test_the_queue_is_read_a_page_at_a_time_past_any_one_page_in_deadline_order(stub):
    # 230 reports, many sharing a deadline: the order is (due_at, tracking id), whatever order they came in
    expected = []
    for n in reversed(range(230)):
        tracking_id = f"LAP-Q{n:07d}"
        due = T0 + timedelta(hours=n // 7)
        enqueue(stub, tracking_id, due=due)
        expected.append((due, tracking_id))
    expected = [t for _, t in sorted(expected)]
    assert [i.tracking_id for i in queue(stub, limit=500)] == expected
    assert all_pages(stub, limit=50) == (expected, 5)
    assert all_pages(stub) == (expected, 5)  # 50 a page when not asked
    first = stub.ListQueue(pb.ListQueueRequest(limit=230), metadata=ADMIN)
    assert len(first.items) == 230 and first.next_page_token == ""


def test_a_decision_between_pages_neither_repeats_nor_skips_a_report(stub):
    for n in range(12):
        enqueue(stub, f"LAP-Q{n:07d}", due=T0 + timedelta(hours=n))
    first = stub.ListQueue(pb.ListQueueRequest(limit=5), metadata=ADMIN)
    assert [i.tracking_id for i in first.items] == [f"LAP-Q{n:07d}" for n in range(5)]
    decide(stub, tracking_id="LAP-Q0000001", outcome=pb.OUTCOME_ARCHIVE, archive_reason=pb.ARCHIVE_REASON_ABUSIVE)
    decide(stub, key="d2", tracking_id="LAP-Q0000006", outcome=pb.OUTCOME_ARCHIVE,
           archive_reason=pb.ARCHIVE_REASON_ABUSIVE)
    second = stub.ListQueue(pb.ListQueueRequest(limit=5, page_token=first.next_page_token), metadata=ADMIN)
    assert [i.tracking_id for i in second.items] == [f"LAP-Q{n:07d}" for n in (5, 7, 8, 9, 10)]
    third = stub.ListQueue(pb.ListQueueRequest(limit=5, page_token=second.next_page_token), metadata=ADMIN)
    assert [i.tracking_id for i in third.items] == ["LAP-Q0000011"] and third.next_page_token == ""


@pytest.mark.parametrize("token", ["bukan-token", "!!!", "MjAyNi0wMy0xNlQwMzowMDowMA==",
                                   "MjAyNi0wMy0xNlQwMzowMDowMHxMQVAtUTAwMDAwMDE="])  # no zone; no bar
def test_a_page_token_that_is_none_is_refused(stub, token):
    enqueue(stub)
    e = refused(grpc.StatusCode.INVALID_ARGUMENT, stub.ListQueue, pb.ListQueueRequest(page_token=token),
                metadata=ADMIN)
    assert field_violation(e) == "page_token"


def test_the_queue_shows_each_reports_latest_decision_and_can_show_held_or_pending_ones_only(stub):
    enqueue(stub, REPORT, due=T0 + timedelta(days=3))
    enqueue(stub, OTHER, due=T0 + timedelta(days=4))
    decide(stub, outcome=pb.OUTCOME_HOLD, reason="Menunggu konfirmasi dinas")
    [held, pending] = queue(stub)
    assert (held.status, held.last_decision.outcome, held.last_decision.reason) == (
        pb.QUEUE_STATUS_ON_HOLD, pb.OUTCOME_HOLD, "Menunggu konfirmasi dinas")
    assert [i.tracking_id for i in queue(stub, status=pb.QUEUE_STATUS_ON_HOLD)] == [REPORT]
    assert [i.tracking_id for i in queue(stub, status=pb.QUEUE_STATUS_PENDING)] == [OTHER]
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, queue, stub, status=pb.QUEUE_STATUS_DECIDED)
    assert field_violation(error) == "status"


def test_a_report_back_from_completion_shows_what_the_reporter_was_asked(stub):
    enqueue(stub)
    decide(stub, outcome=pb.OUTCOME_NEEDS_COMPLETION, reason="Sebutkan nama jalan dan desanya.")
    assert queue(stub) == []
    enqueue(stub, key="enq-again")  # the reporter completed it: the process queues it again
    [item] = queue(stub)
    assert (item.status, item.last_decision.outcome, item.last_decision.reason) == (
        pb.QUEUE_STATUS_PENDING, pb.OUTCOME_NEEDS_COMPLETION, "Sebutkan nama jalan dan desanya.")
    decide(stub, key="d2", outcome=pb.OUTCOME_FORWARD)


def test_a_reports_detail_has_its_decisions_and_its_duplicates(stub):
    enqueue(stub, REPORT)
    enqueue(stub, OTHER)
    decide(stub, outcome=pb.OUTCOME_HOLD, reason="Menunggu")
    decide(stub, key="d2", outcome=pb.OUTCOME_FORWARD, category="infrastruktur")
    decide(stub, key="d3", tracking_id=OTHER, outcome=pb.OUTCOME_DUPLICATE, duplicate_of=REPORT)
    detail = stub.GetQueueItem(pb.GetQueueItemRequest(tracking_id=REPORT), metadata=ADMIN)
    assert detail.item.status == pb.QUEUE_STATUS_DECIDED
    assert [d.outcome for d in detail.decisions] == [pb.OUTCOME_HOLD, pb.OUTCOME_FORWARD]
    assert detail.item.last_decision == detail.decisions[-1]
    assert list(detail.duplicates) == [OTHER]
    refused(grpc.StatusCode.NOT_FOUND, stub.GetQueueItem, pb.GetQueueItemRequest(tracking_id=THIRD), metadata=ADMIN)


def test_the_archive_reasons_come_with_their_labels(stub):
    reasons = stub.ListArchiveReasons(pb.ListArchiveReasonsRequest(), metadata=ADMIN).reasons
    assert [(r.code, r.label_id, r.requires_text) for r in reasons] == [
        ("format_error", "Format tidak sesuai", False), ("too_general", "Terlalu umum", False),
        ("not_public_service", "Bukan kewenangan pelayanan publik", False),
        ("handled_elsewhere", "Sudah ditangani di tempat lain", False),
        ("abusive", "Spam atau berisi kata-kata kasar", False), ("other", "Lainnya", True)]
    assert [r.reason for r in reasons] == [pb.ARCHIVE_REASON_FORMAT_ERROR, pb.ARCHIVE_REASON_TOO_GENERAL,
                                           pb.ARCHIVE_REASON_NOT_PUBLIC_SERVICE, pb.ARCHIVE_REASON_HANDLED_ELSEWHERE,
                                           pb.ARCHIVE_REASON_ABUSIVE, pb.ARCHIVE_REASON_OTHER]


# Each kind of decision, and the event the process receives

def test_forward_with_an_edited_title_and_privacy_flags_set(stub, database_url):
    enqueue(stub)
    decision = decide(stub, outcome=pb.OUTCOME_FORWARD, category="infrastruktur", agency_id="kab-tanah-bumbu",
                      title="  Jalan berlubang di depan Pasar Batulicin ", anonymous=True, confidential=True)
    assert (decision.decided_by, decision.title, decision.anonymous, decision.confidential) == (
        "admin-1", "Jalan berlubang di depan Pasar Batulicin", True, True)
    assert queue(stub) == []
    [(kind, tracking_id, payload)] = outbox_rows(database_url)
    assert (kind, tracking_id) == ("verification_decided", REPORT)
    assert {k: v for k, v in payload.items() if k not in ("decided_at", "decision_id")} == {
        "outcome": "forward", "reason": "", "reason_code": "", "category": "infrastruktur",
        "agency_id": "kab-tanah-bumbu", "duplicate_of": "", "title": "Jalan berlubang di depan Pasar Batulicin",
        "anonymous": True, "confidential": True}


def test_forward_without_changes_keeps_title_and_flags(stub, database_url):
    enqueue(stub)
    decision = decide(stub, outcome=pb.OUTCOME_FORWARD)
    assert (decision.title, decision.anonymous, decision.confidential) == ("", False, False)
    [(_, _, payload)] = outbox_rows(database_url)
    assert (payload["title"], payload["anonymous"], payload["confidential"]) == ("", False, False)


@pytest.mark.parametrize("flag", ["anonymous", "confidential"])
def test_a_privacy_flag_can_be_set_but_never_cleared(stub, database_url, flag):
    enqueue(stub)
    before = stored(database_url)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, decide, stub, outcome=pb.OUTCOME_FORWARD, **{flag: False})
    assert field_violation(error) == flag
    assert "never cleared" in error.details()
    assert stored(database_url) == before
    assert getattr(decide(stub, outcome=pb.OUTCOME_FORWARD, **{flag: True}), flag)


def test_archive_takes_a_reason_from_the_list_and_tells_the_reporter_its_label(stub, database_url):
    enqueue(stub, REPORT)
    enqueue(stub, OTHER)
    decision = decide(stub, outcome=pb.OUTCOME_ARCHIVE, archive_reason=pb.ARCHIVE_REASON_TOO_GENERAL)
    assert (decision.archive_reason, decision.reason) == (pb.ARCHIVE_REASON_TOO_GENERAL, "")
    decide(stub, key="d2", tracking_id=OTHER, outcome=pb.OUTCOME_ARCHIVE, archive_reason=pb.ARCHIVE_REASON_OTHER,
           reason="Laporan ganda dari pelapor yang sama")
    payloads = [p for _, _, p in outbox_rows(database_url)]
    assert [(p["reason_code"], p["reason"]) for p in payloads] == [
        ("too_general", "Terlalu umum"), ("other", "Lainnya: Laporan ganda dari pelapor yang sama")]


def test_needs_completion_carries_the_message_to_the_reporter(stub, database_url):
    enqueue(stub)
    decide(stub, outcome=pb.OUTCOME_NEEDS_COMPLETION, reason="Mohon sebutkan lokasi yang tepat.")
    [(_, _, payload)] = outbox_rows(database_url)
    assert (payload["outcome"], payload["reason"]) == ("needs_completion", "Mohon sebutkan lokasi yang tepat.")


def test_duplicate_points_at_another_known_report(stub, database_url):
    enqueue(stub, REPORT)
    enqueue(stub, OTHER)
    decision = decide(stub, tracking_id=OTHER, outcome=pb.OUTCOME_DUPLICATE, duplicate_of=REPORT)
    assert decision.duplicate_of == REPORT
    [(_, tracking_id, payload)] = outbox_rows(database_url)
    assert (tracking_id, payload["outcome"], payload["duplicate_of"]) == (OTHER, "duplicate", REPORT)


def test_a_duplicate_of_a_duplicate_is_refused_naming_the_original(stub, database_url):
    for tracking_id in (REPORT, OTHER, THIRD):
        enqueue(stub, tracking_id)
    decide(stub, tracking_id=OTHER, outcome=pb.OUTCOME_DUPLICATE, duplicate_of=REPORT)
    before = stored(database_url)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, decide, stub, key="d2", tracking_id=THIRD,
                    outcome=pb.OUTCOME_DUPLICATE, duplicate_of=OTHER)
    assert field_violation(error) == "duplicate_of"
    assert f"{OTHER} is itself a duplicate of {REPORT}: mark it a duplicate of {REPORT} instead" in error.details()
    assert stored(database_url) == before
    decide(stub, key="d3", tracking_id=THIRD, outcome=pb.OUTCOME_DUPLICATE, duplicate_of=REPORT)


def test_a_held_report_stays_in_the_queue_and_can_be_decided_later(stub):
    enqueue(stub)
    decide(stub, outcome=pb.OUTCOME_HOLD, reason="menunggu")
    [item] = queue(stub)
    assert item.status == pb.QUEUE_STATUS_ON_HOLD
    decide(stub, key="d2", outcome=pb.OUTCOME_HOLD, reason="masih menunggu")  # held again, with a new reason
    decide(stub, key="d3", outcome=pb.OUTCOME_FORWARD)
    assert queue(stub) == []


def test_a_repeated_idempotency_key_returns_the_first_decision_and_changes_nothing(stub, database_url):
    enqueue(stub)
    request = pb.DecideReportRequest(idempotency_key="d1", tracking_id=REPORT, outcome=pb.OUTCOME_HOLD,
                                     reason="menunggu data")
    first = stub.DecideReport(request, metadata=ADMIN)
    again = stub.DecideReport(request, metadata=ADMIN)
    assert again == first
    assert len(outbox_rows(database_url)) == 1


# Refusals: each names what is wrong and changes nothing

@pytest.mark.parametrize("earlier, named", [
    (dict(outcome=pb.OUTCOME_FORWARD), "it was forwarded"),
    (dict(outcome=pb.OUTCOME_NEEDS_COMPLETION, reason="Lengkapi lokasi"),
     "it was sent back to the reporter for completion"),
    (dict(outcome=pb.OUTCOME_ARCHIVE, archive_reason=pb.ARCHIVE_REASON_ABUSIVE), "it was archived"),
    (dict(outcome=pb.OUTCOME_DUPLICATE, duplicate_of=OTHER), f"it was marked a duplicate of {OTHER}"),
])
def test_a_report_no_longer_waiting_refuses_a_decision_naming_what_became_of_it(stub, database_url, earlier, named):
    enqueue(stub, REPORT)
    enqueue(stub, OTHER)
    decide(stub, **earlier)
    before = stored(database_url)
    error = refused(grpc.StatusCode.FAILED_PRECONDITION, decide, stub, key="d2", outcome=pb.OUTCOME_HOLD,
                    reason="x")
    assert error.details() == f"report {REPORT} is no longer waiting for a decision: {named} on 2026-03-16 03:00 UTC"
    assert stored(database_url) == before


def test_a_decision_on_a_report_not_in_the_queue_is_not_found(stub, database_url):
    refused(grpc.StatusCode.NOT_FOUND, decide, stub, outcome=pb.OUTCOME_FORWARD)
    assert stored(database_url) == (0, [], 0)


@pytest.mark.parametrize("request_fields, field, why", [
    (dict(outcome=pb.OUTCOME_UNSPECIFIED), "outcome", "must be forward"),
    (dict(outcome=pb.OUTCOME_FORWARD, tracking_id="not a tracking id"), "tracking_id", "tracking ID"),
    (dict(outcome=pb.OUTCOME_FORWARD, idempotency_key=""), "idempotency_key", "required"),
    # hold needs a reason; needs completion needs the message to the reporter
    (dict(outcome=pb.OUTCOME_HOLD), "reason", "required to hold"),
    (dict(outcome=pb.OUTCOME_HOLD, reason="   "), "reason", "required to hold"),
    (dict(outcome=pb.OUTCOME_NEEDS_COMPLETION), "reason", "the message telling the reporter"),
    # archive needs a reason from the list; "other" needs its text
    (dict(outcome=pb.OUTCOME_ARCHIVE, reason="tidak jelas"), "archive_reason", "required to archive"),
    (dict(outcome=pb.OUTCOME_ARCHIVE, archive_reason=pb.ARCHIVE_REASON_OTHER), "reason", "with archive reason other"),
    (dict(outcome=pb.OUTCOME_ARCHIVE, archive_reason=99), "archive_reason", "required to archive"),
    (dict(outcome=pb.OUTCOME_ARCHIVE, archive_reason=pb.ARCHIVE_REASON_TOO_GENERAL, reason="x" * 451), "reason",
     "at most 450"),
    # duplicate needs another report known to verification
    (dict(outcome=pb.OUTCOME_DUPLICATE), "duplicate_of", "tracking ID"),
    (dict(outcome=pb.OUTCOME_DUPLICATE, duplicate_of=REPORT), "duplicate_of", "duplicate of itself"),
    (dict(outcome=pb.OUTCOME_DUPLICATE, duplicate_of=THIRD), "duplicate_of", "not a report known to verification"),
    # forward's fields
    (dict(outcome=pb.OUTCOME_FORWARD, title="Abc"), "title", "at least 5 characters"),
    (dict(outcome=pb.OUTCOME_FORWARD, title="J" * 151), "title", "at most 150"),
    (dict(outcome=pb.OUTCOME_FORWARD, title="Jalan\nrusak"), "title", "line breaks"),
    (dict(outcome=pb.OUTCOME_FORWARD, category="k" * 101), "category", "at most 100"),
    (dict(outcome=pb.OUTCOME_FORWARD, category="banjir"), "category", "not a category reports carry"),
    # each field only with its own outcome
    (dict(outcome=pb.OUTCOME_HOLD, reason="x", title="Judul baru"), "title", "only for a forward decision"),
    (dict(outcome=pb.OUTCOME_ARCHIVE, archive_reason=pb.ARCHIVE_REASON_ABUSIVE, confidential=True), "confidential",
     "only for a forward decision"),
    (dict(outcome=pb.OUTCOME_HOLD, reason="x", category="infrastruktur"), "category", "only for a forward"),
    (dict(outcome=pb.OUTCOME_FORWARD, duplicate_of=OTHER), "duplicate_of", "only for a duplicate decision"),
    (dict(outcome=pb.OUTCOME_FORWARD, archive_reason=pb.ARCHIVE_REASON_TOO_GENERAL), "archive_reason",
     "only for a archive decision"),
])
def test_bad_decisions_name_the_field_and_change_nothing(stub, database_url, request_fields, field, why):
    enqueue(stub, REPORT)
    enqueue(stub, OTHER)
    before = stored(database_url)
    fields = dict(idempotency_key="d1", tracking_id=REPORT) | request_fields
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, stub.DecideReport, pb.DecideReportRequest(**fields),
                    metadata=ADMIN)
    assert field_violation(error) == field
    assert why in error.details()
    assert stored(database_url) == before


# Who may call

LIAISON = caller("liaison_officer", "lo-1", "kab-tanah-bumbu")
OTHERS = [LIAISON, caller("agency_admin", "aa-1", "kab-tanah-bumbu"), caller("process_analyst", "pa-1"),
          caller("reporter", REPORT), service_caller("portal"), SLA]


@pytest.mark.parametrize("metadata", OTHERS)
def test_only_national_administrators_decide_and_see_the_queue(stub, database_url, metadata):
    enqueue(stub)
    before = stored(database_url)
    for call in [lambda md: decide(stub, metadata=md, outcome=pb.OUTCOME_FORWARD),
                 lambda md: decide(stub, metadata=md, outcome=pb.OUTCOME_UNSPECIFIED),  # rights before the request
                 lambda md: stub.ListQueue(pb.ListQueueRequest(), metadata=md),
                 lambda md: stub.GetQueueItem(pb.GetQueueItemRequest(tracking_id=REPORT), metadata=md),
                 lambda md: stub.ListArchiveReasons(pb.ListArchiveReasonsRequest(), metadata=md)]:
        refused(grpc.StatusCode.PERMISSION_DENIED, call, metadata)
    assert stored(database_url) == before


def test_only_sla_enqueues(stub):
    for metadata in [ADMIN, service_caller("intake")]:
        refused(grpc.StatusCode.PERMISSION_DENIED, enqueue_as, stub, metadata)


def enqueue_as(stub, metadata):
    request = pb.EnqueueReportRequest(idempotency_key="x", tracking_id="LAP-AAAA0009")
    request.submitted_at.FromDatetime(T0)
    request.due_at.FromDatetime(T0)
    return stub.EnqueueReport(request, metadata=metadata)


def test_calls_without_a_valid_identity_are_refused(stub):
    for metadata in [(), [("x-sp4n-caller", "forged.token")], caller("national_admin")[:0]]:
        refused(grpc.StatusCode.UNAUTHENTICATED, stub.ListQueue, pb.ListQueueRequest(), metadata=metadata)


def test_two_reports_marked_duplicates_of_each_other_at_once_make_no_cycle(stub):
    enqueue(stub, REPORT)
    enqueue(stub, OTHER)
    results = {}

    def mark(tracking_id, original):
        try:
            results[tracking_id] = decide(stub, key=f"dup-{tracking_id}", tracking_id=tracking_id,
                                          outcome=pb.OUTCOME_DUPLICATE, duplicate_of=original).outcome
        except grpc.RpcError as e:
            results[tracking_id] = e.code()

    threads = [threading.Thread(target=mark, args=pair) for pair in ((REPORT, OTHER), (OTHER, REPORT))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values(), key=str) == sorted([pb.OUTCOME_DUPLICATE, grpc.StatusCode.INVALID_ARGUMENT],
                                                       key=str)
