"""The rules of a submission, without a database or a server."""

import pytest

from services.intake import domain
from services.intake.domain import ReporterContact, ReportType, Submission, check_submission
from services.plumbing.errors import InvalidArgument


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
    ("081234567890", "+6281234567890"),
    ("0812-3456-7890", "+6281234567890"),
    ("+62 812 3456 7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"),
    ("(0812) 345.678", "+62812345678"),
    ("081234567", "+6281234567"),  # 9 digits: the shortest mobile number
])
def test_mobile_numbers_are_kept_in_international_form(typed, kept):
    assert domain.check_phone(typed) == kept


@pytest.mark.parametrize("typed", ["08123456", "0812345678901234", "0212345678", "+6521234567", "08l2345678",
                                   "٠٨١٢٣٤٥٦٧٨٩٠"])
def test_other_numbers_are_not_indonesian_mobile_numbers(typed):
    with pytest.raises(InvalidArgument) as e:
        domain.check_phone(typed)
    assert e.value.field == "reporter.phone"


def test_a_submission_is_cleaned_and_gets_the_default_language():
    checked = check_submission(submission(channel=" SMS ", title="  Jalan berlubang ", language=""))
    assert (checked.channel, checked.title, checked.language, checked.reporter.phone) == (
        "sms", "Jalan berlubang", "id", "+6281234567890")


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
