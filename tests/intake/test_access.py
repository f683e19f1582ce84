"""Who may see and answer a report, and the reporter's access code: the rules, without a database or a server."""

import re
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake import access
from services.intake.domain import TRACKING_ALPHABET, Report, ReportStatus, ReportType
from services.plumbing.identity import Caller

SHOWN = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")
REPORT = Report(tracking_id="LAP-7K3QX9MA", type=ReportType.COMPLAINT, title="Jalan berlubang",
                description="Lubang besar di jalan.", category="", region_code="", location_text="", anonymous=False,
                confidential=False, status=ReportStatus.FORWARDED, channel="web", language="id",
                submitted_at=datetime(2026, 3, 16, tzinfo=timezone.utc), agency_id="tanah-bumbu-pupr",
                account_id="account:7")

codes = st.text(alphabet=TRACKING_ALPHABET, min_size=16, max_size=16)


def test_codes_are_80_random_bits_shown_in_four_groups_of_four():
    drawn = {access.new_access_code() for _ in range(1000)}
    assert len(drawn) == 1000
    assert all(SHOWN.fullmatch(access.shown(code)) for code in drawn)
    assert set("".join(drawn)) == set(TRACKING_ALPHABET)


@given(code=codes, data=st.data())
def test_a_code_is_read_whatever_its_case_dashes_and_spaces(code, data):
    typed = ""
    for c in access.shown(code):
        if c == "-":
            c = data.draw(st.sampled_from(["-", " ", "", " - ", "\t"]))
        elif c.isalpha():
            c = data.draw(st.sampled_from([c, c.lower()]))
        typed += c + data.draw(st.sampled_from(["", "", " "]))
    assert access.normalised_code(typed) == code
    assert access.code_matches(typed, access.code_hash(code))


@given(code=codes)
def test_letters_read_as_digits_are_taken_as_those_digits(code):
    typed = code.replace("0", "O").replace("1", "l")
    assert access.normalised_code(typed) == code


@given(code=codes, other=codes)
def test_only_the_code_itself_matches_its_hash(code, other):
    assert access.code_matches(other, access.code_hash(code)) == (other == code)


@pytest.mark.parametrize("typed", ["", "7K3Q-X9MA-PD2R-WT5", "7K3Q-X9MA-PD2R-WT5BB", "7K3Q-X9MA-PD2R-WT5U",
                                   "7K3Q_X9MA_PD2R_WT5B", "７K3Q-X9MA-PD2R-WT5B", "7K3Q-X9MA-PD2R-WT5ß"])
def test_what_cannot_be_a_code_matches_nothing(typed):
    assert access.normalised_code(typed) is None
    assert not access.code_matches(typed, access.code_hash("7K3QX9MAPD2RWT5B"))


def test_a_report_without_a_code_is_opened_by_none():
    assert not access.code_matches("7K3Q-X9MA-PD2R-WT5B", None)
    assert not access.code_matches("", None)


@pytest.mark.parametrize("caller, may", [
    (Caller("LAP-7K3QX9MA", "reporter"), True),
    (Caller("account:7", "reporter"), True),
    (Caller("LAP-AAAA0001", "reporter"), False),
    (Caller("account:8", "reporter"), False),
    (Caller("admin-1", "national_admin"), True),
    (Caller("lo-1", "liaison_officer", "tanah-bumbu-pupr"), True),
    (Caller("aa-1", "agency_admin", "tanah-bumbu-pupr"), True),
    (Caller("lo-2", "liaison_officer", "kota-banjarmasin"), False),
    (Caller("pa-1", "process_analyst", "tanah-bumbu-pupr"), False),
    (Caller("sla", "service"), True),
    (Caller("notify", "service"), True),
    (Caller("portal", "service"), False),
])
def test_who_may_read_a_report(caller, may):
    assert access.may_read(caller, REPORT) == may


def test_staff_without_an_agency_never_see_a_report_without_one():
    unassigned = Report(**{**REPORT.__dict__, "agency_id": ""})
    assert not access.may_read(Caller("lo-3", "liaison_officer"), unassigned)


def test_a_reporter_account_names_reports_of_its_own_only():
    without_account = Report(**{**REPORT.__dict__, "account_id": ""})
    assert not access.may_read(Caller("", "reporter"), without_account)
    assert access.listed_account(Caller("account:7", "reporter")) == "account:7"
    for caller in (Caller("LAP-7K3QX9MA", "reporter"), Caller("account:x", "reporter"),
                   Caller("account:7", "national_admin")):
        assert access.listed_account(caller) is None


@pytest.mark.parametrize("caller, sender_phone, administrators, author", [
    (Caller("LAP-7K3QX9MA", "reporter"), "", False, "reporter"),
    (Caller("account:7", "reporter"), "", False, "reporter"),
    (Caller("admin-1", "national_admin"), "", True, "administrator"),
    (Caller("admin-1", "national_admin"), "", False, None),
    (Caller("portal", "service"), "0812-3456-7890", False, "reporter"),
    (Caller("portal", "service"), "+62 812 3456 7890", True, "reporter"),
    (Caller("portal", "service"), "081234567891", True, None),
    (Caller("portal", "service"), "", True, None),
    (Caller("portal", "service"), "bukan nomor", True, None),
    (Caller("sla", "service"), "081234567890", True, None),
    (Caller("lo-1", "liaison_officer", "tanah-bumbu-pupr"), "", True, None),
])
def test_who_may_answer_a_report(caller, sender_phone, administrators, author):
    assert access.answer_author(caller, REPORT, administrators=administrators, sender_phone=sender_phone,
                                reporter_phone="6281234567890") == author


def test_an_sms_never_matches_a_reporter_who_left_no_number():
    assert access.answer_author(Caller("portal", "service"), REPORT, administrators=True, sender_phone="",
                                reporter_phone="") is None
