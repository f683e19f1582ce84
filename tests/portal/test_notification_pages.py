"""The staff's notification pages through real HTTP, over a real intake and a stand-in for notify that
answers as notify does: a staff member's in-app notifications at /staf/pemberitahuan, and for national
administrators the dead letters at /staf/notifikasi-gagal with their resending, once per form however
often it is sent. Other roles get the 403 page; without notify the pages say they cannot list."""

from datetime import timedelta

import pytest

from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST
from sp4n.notify.v1 import notify_pb2
from tests.intake.reports import T0, at, forward, submit
from tests.portal.test_pages import hidden_in, page, text_of
from tests.portal.test_staff_sign_in import (DINKES, PUPR, accounts, people, sign_in, signed_in,  # noqa: F401
                                            staff)  # (fixtures)

INBOX, DEAD_LETTERS = "/staf/pemberitahuan", "/staf/notifikasi-gagal"
SMTP_ERROR = "smtp: 550 mailbox unavailable"


@pytest.fixture
def admin(people):
    return people(NATIONAL_ADMIN)


@pytest.fixture
def liaison(people):
    return people(LIAISON_OFFICER)


@pytest.fixture
def notifications(fake_notify):
    """Gives notify's stand-in a notification (by default a new report's, in-app, for Dinas PUPR, sent),
    created `minutes` after T0; returns it."""
    count = [0]

    def add(tracking_id: str = "LAP-7K3QX9MA", *, minutes: int = 0, **fields) -> notify_pb2.Notification:
        count[0] += 1
        made = notify_pb2.Notification(**{
            "id": str(count[0]), "tracking_id": tracking_id, "event": "new_assignment", "recipient": "agency",
            "agency_id": PUPR, "channel": "in_app", "status": "sent", "subject": f"Pemberitahuan {count[0]}",
            "body": "Laporan baru diteruskan ke instansi Anda.", "created_at": at(T0 + timedelta(minutes=minutes)),
            **fields})
        fake_notify.notifications.setdefault(tracking_id, []).append(made)
        return made

    return add


def dead_letter(notifications, tracking_id: str = "LAP-7K3QX9MA", **fields) -> notify_pb2.Notification:
    return notifications(tracking_id, **{"event": "forwarded", "recipient": "reporter", "agency_id": "",
                                         "channel": "email", "status": "failed", "attempts": 6,
                                         "last_error": SMTP_ERROR, **fields})


def row_ids(response, table: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [r.get("id") for r in page(response).xpath(f"//table[@id='{table}']/tbody/tr")]


def cells(response, row_id: str) -> list[str]:
    return [" ".join(c.text_content().split()) for c in page(response).get_element_by_id(row_id).xpath("td")]


def resend_form(person, notification_id: str, path: str = DEAD_LETTERS) -> tuple[str, dict]:
    """The action and hidden fields of a dead letter's resend form on the list at `path`."""
    form = page(person.get(path)).get_element_by_id(f"resend-{notification_id}")
    return form.get("action"), {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}


# ---- the inbox ----

def test_an_agencys_staff_see_their_agencys_in_app_notifications_newest_first(liaison, notifications):
    older = notifications(minutes=1, subject="Laporan baru untuk Dinas PUPR")
    newer = notifications(minutes=5, event="deadline_approaching", subject="Batas tindak lanjut besok")
    notifications(minutes=2, channel="email")  # delivered elsewhere: not the portal's inbox
    notifications(minutes=3, agency_id=DINKES)  # another agency's
    notifications(minutes=4, recipient="national_admins", agency_id="")
    response = liaison.get(INBOX)
    assert row_ids(response, "inbox") == [f"inbox-{newer.id}", f"inbox-{older.id}"]
    row = cells(response, f"inbox-{newer.id}")
    assert row[1:3] == ["LAP-7K3QX9MA", "Batas waktu segera berakhir"] and row[0].endswith("WIB")
    assert "Batas tindak lanjut besok" in row[3]
    assert page(response).xpath("//a[@rel='next']") == []


def test_a_national_administrator_sees_what_was_addressed_to_national_administrators(admin, notifications):
    theirs = notifications("LAP-AAAAAAAA", recipient="national_admins", agency_id="", event="deadline_missed")
    notifications("LAP-BBBBBBBB")  # an agency's
    response = admin.get(INBOX)
    assert row_ids(response, "inbox") == [f"inbox-{theirs.id}"]
    assert page(response).xpath(f"//tr[@id='inbox-{theirs.id}']//a/@href") == ["/staf/verifikasi/LAP-AAAAAAAA"]


def test_a_notification_links_its_report_only_when_the_staff_member_may_open_it(liaison, notifications, intake_stub):
    ours = submit(intake_stub, "web-1")
    forward(intake_stub, ours, key="fwd-1", agency_id=PUPR)
    gone = submit(intake_stub, "web-2")  # escalated: told to Dinas PUPR, held by another agency
    forward(intake_stub, gone, key="fwd-2", agency_id=DINKES)
    told_ours, told_gone = notifications(ours, minutes=2), notifications(gone, minutes=1, event="escalation")
    html = page(liaison.get(INBOX))
    assert html.xpath(f"//tr[@id='inbox-{told_ours.id}']//a/@href") == [f"/staf/instansi/{ours}"]
    assert html.xpath(f"//tr[@id='inbox-{told_gone.id}']//a") == []
    assert gone in html.get_element_by_id(f"inbox-{told_gone.id}").text_content()


def test_the_inbox_is_paged_fifty_at_a_time(liaison, notifications):
    made = [notifications(minutes=n) for n in range(53)]
    first = liaison.get(INBOX)
    assert row_ids(first, "inbox") == [f"inbox-{n.id}" for n in reversed(made)][:50]
    [next_page] = page(first).xpath("//a[@rel='next']/@href")
    second = liaison.get(next_page)
    assert row_ids(second, "inbox") == [f"inbox-{n.id}" for n in reversed(made[:3])]
    assert page(second).xpath("//a[@rel='next']") == [] and page(second).xpath("//a[@id='first-page']/@href") == [INBOX]


def test_a_page_token_not_of_notifys_making_leads_to_the_first_page(liaison, notifications):
    notifications()
    response = liaison.get(f"{INBOX}?halaman=bukan-token")
    assert (response.status_code, response.headers["Location"]) == (303, INBOX)


def test_an_empty_inbox_says_so(liaison):
    assert "Belum ada pemberitahuan untuk Anda." in text_of(liaison.get(INBOX))


@pytest.mark.parametrize("path", [INBOX, DEAD_LETTERS])
def test_the_pages_are_in_english_when_chosen(admin, notifications, path):
    notifications(recipient="national_admins", agency_id="")
    dead_letter(notifications)
    response = admin.get(f"{path}?lang=en")
    assert response.status_code == 200
    html = page(response)
    assert html.get("lang") == "en"
    assert html.xpath("string(//h1)") == {INBOX: "Notification inbox", DEAD_LETTERS: "Undelivered notifications"}[path]
    assert "Kirim ulang" not in response.text and "Saluran" not in response.text


# ---- who may open them ----

@pytest.mark.parametrize("role", [AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN])
def test_agency_staff_and_national_administrators_have_an_inbox(people, role):
    assert people(role).get(INBOX).status_code == 200


def test_a_process_analyst_gets_the_403_page_for_both(people):
    analyst = people(PROCESS_ANALYST)
    for path in (INBOX, DEAD_LETTERS):
        response = analyst.get(path)
        assert response.status_code == 403 and "Akses ditolak" in text_of(response)


@pytest.mark.parametrize("role", [AGENCY_ADMIN, LIAISON_OFFICER, PROCESS_ANALYST])
def test_only_national_administrators_see_and_resend_dead_letters(people, admin, notifications, fake_notify, role):
    failed = dead_letter(notifications)
    action, form = resend_form(admin, failed.id)
    person = people(role)
    assert person.get(DEAD_LETTERS).status_code == 403
    own = hidden_in(person.get("/staf/kata-sandi"))  # a CSRF token of the person's own session
    response = person.post(action, data={**form, "csrf_token": own["csrf_token"]})
    assert response.status_code == 403
    assert fake_notify.resends == [] and failed.status == "failed"


def test_a_visitor_not_signed_in_is_sent_to_sign_in(visitor):
    for path in (INBOX, DEAD_LETTERS):
        response = visitor().get(path)
        assert response.status_code == 303 and response.headers["Location"].startswith("/staf/masuk")


# ---- the dead letters ----

def test_the_dead_letters_are_listed_newest_first_with_their_attempts_and_last_error(admin, notifications):
    older = dead_letter(notifications, "LAP-AAAAAAAA", minutes=1)
    newer = dead_letter(notifications, "LAP-BBBBBBBB", minutes=2, channel="sms", event="received", attempts=4,
                        last_error="gateway: 503")
    notifications("LAP-AAAAAAAA", minutes=3, channel="email", status="sent")
    response = admin.get(DEAD_LETTERS)
    assert row_ids(response, "dead-letters") == [f"dead-letter-{newer.id}", f"dead-letter-{older.id}"]
    row = cells(response, f"dead-letter-{newer.id}")
    assert row[:5] == ["LAP-BBBBBBBB", "Laporan diterima", "SMS", "4", "gateway: 503"]
    assert row[5].endswith("WIB")
    assert page(response).xpath(f"//tr[@id='dead-letter-{older.id}']/td[1]/a/@href") == \
        ["/staf/verifikasi/LAP-AAAAAAAA"]


def test_the_dead_letters_are_filtered_by_channel_and_paged(admin, notifications):
    emails = [dead_letter(notifications, minutes=n) for n in range(52)]
    texts = dead_letter(notifications, minutes=100, channel="sms")
    assert row_ids(admin.get(f"{DEAD_LETTERS}?kanal=sms"), "dead-letters") == [f"dead-letter-{texts.id}"]
    first = admin.get(f"{DEAD_LETTERS}?kanal=email")
    assert row_ids(first, "dead-letters") == [f"dead-letter-{n.id}" for n in reversed(emails)][:50]
    assert page(first).xpath("//select[@id='kanal']/option[@selected]/@value") == ["email"]
    [next_page] = page(first).xpath("//a[@rel='next']/@href")
    assert "kanal=email" in next_page
    assert row_ids(admin.get(next_page), "dead-letters") == [f"dead-letter-{n.id}" for n in reversed(emails[:2])]
    assert len(row_ids(admin.get(DEAD_LETTERS), "dead-letters")) == 50


def test_an_unknown_channel_is_said_on_the_page(admin, notifications):
    dead_letter(notifications)
    response = admin.get(f"{DEAD_LETTERS}?kanal=merpati")
    assert response.status_code == 400
    assert page(response).xpath("string(//*[@id='page-message'])").strip() == "Pilih saluran dari daftar."


def test_resending_asks_notify_once_and_comes_back_with_a_notice(admin, notifications, fake_notify, accounts):
    failed = dead_letter(notifications, "LAP-AAAAAAAA", channel="sms", event="received")
    action, form = resend_form(admin, failed.id, f"{DEAD_LETTERS}?kanal=sms")
    response = admin.post(action, data=form)
    assert (response.status_code, response.headers["Location"]) == (303, f"{DEAD_LETTERS}?kanal=sms")
    [request] = fake_notify.resends
    assert request.notification_id == failed.id and request.idempotency_key.startswith("notify-resend:")
    assert (failed.status, failed.resends, failed.resent_by) == ("pending", 1, accounts[NATIONAL_ADMIN].subject)
    shown = admin.get(response.headers["Location"])
    assert page(shown).xpath("string(//*[@id='notice'])").strip() == \
        "Notifikasi Laporan diterima untuk LAP-AAAAAAAA dikirim ulang melalui SMS, mulai dari percobaan pertama."
    assert page(shown).xpath("//*[@id='notice']/@role") == ["status"]
    assert row_ids(shown, "dead-letters") == []  # no longer a dead letter
    assert "notice" not in page(admin.get(DEAD_LETTERS)).xpath("//@id")  # said once


def test_a_form_sent_twice_resends_once(admin, notifications, fake_notify):
    failed = dead_letter(notifications)
    action, form = resend_form(admin, failed.id)
    assert admin.post(action, data=form).status_code == 303
    again = admin.post(action, data=form)  # a double click
    assert again.status_code == 303
    assert [r.idempotency_key for r in fake_notify.resends] == [fake_notify.resends[0].idempotency_key] * 2
    assert failed.resends == 1
    notice = page(admin.get(again.headers["Location"])).xpath("string(//*[@id='notice'])")
    assert "dikirim ulang melalui E-mail" in notice


def test_each_row_has_a_form_of_its_own(admin, notifications):
    first, second = dead_letter(notifications, minutes=1), dead_letter(notifications, minutes=2)
    assert resend_form(admin, first.id)[1]["nonce"] != resend_form(admin, second.id)[1]["nonce"]


def test_a_notification_no_longer_a_dead_letter_is_not_resent_and_the_list_says_so(admin, notifications, fake_notify):
    failed = dead_letter(notifications)
    action, form = resend_form(admin, failed.id)
    failed.status = "sent"  # resent meanwhile, and delivered
    response = admin.post(action, data=form)
    assert (response.status_code, response.headers["Location"]) == (303, DEAD_LETTERS)
    shown = page(admin.get(DEAD_LETTERS))
    assert shown.xpath("//*[@id='notice']/@role") == ["alert"]
    assert shown.xpath("string(//*[@id='notice'])").strip().startswith(
        "Notifikasi ini tidak dikirim ulang karena tidak lagi gagal terkirim")
    assert failed.resends == 0


def test_a_resend_without_the_sessions_token_or_a_good_nonce_sends_nothing(admin, notifications, fake_notify):
    failed = dead_letter(notifications)
    action, form = resend_form(admin, failed.id)
    for bad in ({**form, "csrf_token": "bukan-token"}, {**form, "nonce": "palsu.nonce"}):
        response = admin.post(action, data=bad)
        assert response.status_code == 400
        assert "Formulir ini sudah tidak berlaku" in page(response).xpath("string(//*[@id='page-message'])")
    assert fake_notify.resends == [] and failed.status == "failed"


def test_resending_a_notification_notify_does_not_know_is_404(admin, notifications, fake_notify):
    failed = dead_letter(notifications)
    action, form = resend_form(admin, failed.id)
    assert admin.post(action.replace(f"/{failed.id}/", "/999/"), data=form).status_code == 404
    assert admin.post(action.replace(f"/{failed.id}/", "/bukan%20id/"), data=form).status_code == 404
    assert admin.post(action.replace(f"/{failed.id}/", "/abc/"), data=form).status_code == 404  # not notify's
    assert failed.status == "failed"


# ---- without notify ----

@pytest.fixture
def without_notify(make_app, intake_address, others_address, closed_address, serve_app, accounts):
    """The portal with notify at an address where nothing listens."""
    serve = serve_app(make_app(intake_address, others_address, closed_address, intake_timeout=0.5))

    def person(role: str):
        assert sign_in(serve, accounts[role].username).status_code == 303
        return serve

    return person


def test_without_notify_the_inbox_says_it_cannot_list_notifications(without_notify):
    response = without_notify(LIAISON_OFFICER).get(INBOX)
    assert response.status_code == 503
    assert "Pemberitahuan sedang tidak dapat ditampilkan" in page(response).xpath("string(//*[@id='page-message'])")


def test_without_notify_the_dead_letters_say_they_cannot_be_listed(without_notify):
    response = without_notify(NATIONAL_ADMIN).get(DEAD_LETTERS)
    assert response.status_code == 503
    assert "tidak dapat ditampilkan" in page(response).xpath("string(//*[@id='unavailable'])")
