"""The reporter's pages in English when a person chooses it, through real HTTP."""

import psycopg
import pytest

from tests.portal.test_pages import enter_code, field_message, page, report_form, text_of


@pytest.fixture
def english(visitor):
    person = visitor()
    person.get("/?lang=en")
    return person


def test_the_form_is_in_english(english):
    html = page(english.get("/"))
    assert html.xpath("//html/@lang") == ["en"]
    assert html.xpath("string(//h1)") == "Submit your report"
    assert set(html.xpath("//main//label/text()")) >= {"Title of the report", "Description", "Category", "Region",
                                                        "Attachments (optional)", "Date of the incident (optional)",
                                                        "Mobile number", "E-mail address", "Complaint"}
    assert html.xpath("string(//main//button)") == "Send report"


def test_messages_are_in_english(english):
    response = english.post("/laporan", data=report_form(english, title="", phone="021-5551234",
                                                         description="x" * 5001))
    assert field_message(response, "title") == "Title is required."
    assert field_message(response, "description") == "Description must be at most 5,000 characters (now 5,001)."
    assert page(response).xpath("string(//div[@class='error-summary']/h2)") == "Please check what you entered"
    response = english.post("/laporan", data=report_form(english, phone="021-5551234"))
    assert field_message(response, "phone").startswith("That is not a valid mobile number.")


def test_a_report_sent_in_english_is_confirmed_and_followed_in_english(english, visitor, database_url):
    assert english.post("/laporan", data=report_form(english)).status_code == 303
    confirmation = english.get("/laporan/terkirim")
    assert "Write down or save this code now." in text_of(confirmation)
    tracking_id = page(confirmation).get_element_by_id("tracking-id").text_content()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT language FROM intake.reports").fetchone()[0] == "en"  # notify writes in English
    assert page(english.get(f"/lacak/{tracking_id}")).get_element_by_id("status").text_content().strip() \
        == "Status: Awaiting verification"
    other = visitor()
    other.get("/?lang=en")
    asked = page(other.get(f"/lacak/{tracking_id}"))
    assert asked.xpath("string(//label[@for='access_code'])") == "Access code"
    wrong = enter_code(other, tracking_id, "AAAA-BBBB-CCCC-DDDD")
    assert field_message(wrong, "access_code").startswith("The access code is wrong.")


def test_the_account_pages_are_in_english(english):
    assert page(english.get("/akun/masuk")).xpath("string(//h1)") == "Sign in to your reporter account"
    assert page(english.get("/akun/daftar")).xpath("string(//h1)") == "Register a reporter account"
