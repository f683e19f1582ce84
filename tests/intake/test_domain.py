"""The rules of a submission, without a database or a server."""

import math
from datetime import datetime, timedelta, timezone

import pytest

from services.intake import domain, submission as rules
from services.intake.domain import Coordinates, ReporterContact, ReportType, Submission
from services.intake.submission import check_submission as check
from services.plumbing.errors import InvalidArgument

NOW = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)


def check_submission(s: Submission) -> Submission:
    return check(s, now=NOW)


def submission(**fields) -> Submission:
    return Submission(**(dict(channel="web", type=ReportType.COMPLAINT, title="Jalan berlubang",
                              description="Lubang besar di jalan raya.",
                              reporter=ReporterContact(phone="081234567890")) | fields))


def test_tracking_ids_use_crockford_base32_and_never_the_letters_that_read_as_digits():
    drawn = {domain.new_tracking_id() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(domain.TRACKING_ID.fullmatch(t) for t in drawn)
    letters = set("".join(t[4:] for t in drawn))
    assert letters == set(domain.TRACKING_ALPHABET) and not letters & set("ILOU")


@pytest.mark.parametrize("typed, kept", [
    ("081234567890", "6281234567890"),
    ("0812-3456-7890", "6281234567890"),
    ("+62 812 3456 7890", "6281234567890"),
    ("6281234567890", "6281234567890"),
    ("(0812) 345.678", "62812345678"),
    ("081234567", "6281234567"),  # 9 digits: the shortest mobile number
])
def test_mobile_numbers_are_kept_as_e164_digits_without_a_plus(typed, kept):
    assert rules.check_phone(typed) == kept


@pytest.mark.parametrize("typed", ["08123456", "0812345678901234", "0212345678", "+6521234567", "08l2345678",
                                   "٠٨١٢٣٤٥٦٧٨٩٠"])
def test_other_numbers_are_not_indonesian_mobile_numbers(typed):
    with pytest.raises(InvalidArgument) as e:
        rules.check_phone(typed)
    assert e.value.field == "reporter.phone"


def test_a_submission_is_cleaned_and_gets_the_default_language():
    checked = check_submission(submission(channel=" SMS ", title="  Jalan berlubang ", language=""))
    assert (checked.channel, checked.title, checked.language, checked.reporter.phone) == (
        "sms", "Jalan berlubang", "id", "6281234567890")


def test_a_multiline_description_is_kept_but_a_title_is_one_line():
    assert check_submission(submission(description="Baris satu.\r\nBaris\tdua.")).description == \
        "Baris satu.\r\nBaris\tdua."
    with pytest.raises(InvalidArgument) as e:
        check_submission(submission(title="Jalan\tberlubang"))
    assert e.value.field == "title"


def test_a_web_reporter_must_leave_a_way_to_reach_them():
    with pytest.raises(InvalidArgument) as e:
        check_submission(submission(reporter=ReporterContact(name="Siti")))
    assert e.value.field == "reporter"
    assert check_submission(submission(reporter=ReporterContact(email="siti@contoh.id"))).reporter.email == \
        "siti@contoh.id"


@pytest.mark.parametrize("incident_date", [
    datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=9))),  # the first moment of 2000 in WIT
    datetime(2026, 3, 1, tzinfo=timezone.utc), NOW, NOW + timedelta(days=1), None,
])
def test_an_incident_date_from_2000_until_a_day_ahead_is_kept(incident_date):
    assert check_submission(submission(incident_date=incident_date)).incident_date == incident_date


@pytest.mark.parametrize("incident_date", [
    datetime(1999, 12, 31, 14, 59, 59, tzinfo=timezone.utc), datetime(1970, 1, 1, tzinfo=timezone.utc),
    NOW + timedelta(days=1, seconds=1), datetime(2100, 1, 1, tzinfo=timezone.utc),
])
def test_an_incident_date_before_2000_or_in_the_future_is_refused(incident_date):
    with pytest.raises(InvalidArgument) as e:
        check_submission(submission(incident_date=incident_date))
    assert e.value.field == "incident_date"


@pytest.mark.parametrize("latitude, longitude", [
    (-3.4167, 115.9667), (-11.0, 95.0), (6.0, 141.1), (5.8926, 95.3238), (-8.5, 140.4), (0.0, 110.0)])
def test_a_point_within_indonesia_is_kept(latitude, longitude):
    assert check_submission(submission(coordinates=Coordinates(latitude, longitude))).coordinates == \
        Coordinates(latitude, longitude)


@pytest.mark.parametrize("latitude, longitude, field", [
    (-11.01, 115.0, "latitude"), (6.01, 115.0, "latitude"), (math.nan, 115.0, "latitude"),
    (math.inf, 115.0, "latitude"), (-3.4, 94.99, "longitude"), (-3.4, 141.11, "longitude"),
    (-3.4, math.nan, "longitude"), (-3.4, -math.inf, "longitude"), (0.0, 0.0, "longitude"),
    (1.35, 103.8 + 100, "longitude"), (48.85, 2.35, "latitude"),
])
def test_a_point_outside_indonesia_names_the_coordinate(latitude, longitude, field):
    with pytest.raises(InvalidArgument) as e:
        check_submission(submission(coordinates=Coordinates(latitude, longitude)))
    assert e.value.field == field


@pytest.mark.parametrize("agency_id, kept", [("", ""), ("tanah-bumbu-pupr", "tanah-bumbu-pupr"),
                                             (" kemenkes ", "kemenkes"), ("a" * 100, "a" * 100)])
def test_a_suggested_agency_is_an_agency_id_or_nothing(agency_id, kept):
    assert check_submission(submission(suggested_agency_id=agency_id)).suggested_agency_id == kept


@pytest.mark.parametrize("agency_id", ["Kemenkes", "dinas pupr", "pupr_tanah_bumbu", "a" * 101, "dinas/pupr", "é"])
def test_a_suggested_agency_that_is_not_an_agency_id_is_refused(agency_id):
    with pytest.raises(InvalidArgument) as e:
        check_submission(submission(suggested_agency_id=agency_id))
    assert e.value.field == "suggested_agency_id"
