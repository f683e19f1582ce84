"""Open311 GeoReport v2 under generated input. The portal serves no OpenAPI document of its own for
Open311 (GeoReport v2 is described by its discovery document and the community's Swagger 2.0 file in
shared/open311, which declares neither the POST's description nor its errors), so its inputs are
generated here with hypothesis: the POST's form fields (a valid request with one or two fields made
hostile, or every field hostile) and the GET filters, in both formats, over the real intake and
PostgreSQL. No answer is a 5xx; every answer is well-formed JSON or XML of the format asked for; a
refused POST stores nothing and an accepted one stores a whole report.

Open311 takes form fields (application/x-www-form-urlencoded or multipart), never an XML or JSON body:
an XML body is answered as a POST without its fields."""

from datetime import timedelta
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.portal import open311 as open311_api
from tests.hostile.conftest import count, partial_writes
from tests.hostile.grpc_messages import HOSTILE_TEXT, text
from tests.intake.reports import row_counts
from tests.portal.test_open311_fakes import KEY, NOW, V2, post_fields

EXAMPLES = 300
FIELDS = ("api_key", "service_code", "lat", "long", "address_string", "address_id", "description", "email",
          "phone", "first_name", "last_name", "device_id", "account_id", "media_url", "jurisdiction_id",
          "attribute[type]", "attribute[confidential]", "attribute[anonymous]", "attribute[incident_date]",
          "attribute[region_code]", "attribute[warna]")
NUMBERS = st.sampled_from(["-3.4412", "115.9963", "nan", "inf", "-inf", "1e400", "-0", "0x10", "1_000", "٣", "",
                           "-3.4412; DROP TABLE intake.reports", "91", "-181", " -3.4 ", "1e-400"])
HOSTILE = st.one_of(text(), NUMBERS, st.lists(text(), min_size=2, max_size=3))  # a list: the field repeated


@pytest.fixture
def open311(make_open311_app, intake_address, others_address):
    return make_open311_app(intake_address, others_address).test_client()


def answer_document(response, fmt: str):
    """The answer read as the format asked for: JSON or well-formed XML (ElementTree refuses anything else)."""
    body = response.get_data()
    if fmt == "xml":
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        return ElementTree.fromstring(body)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()


def test_a_generated_post_is_answered_in_its_format_and_stores_a_whole_report_or_nothing(open311, database_url, clock):
    good = post_fields()
    posted, sent = [0], [0]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(fmt=st.sampled_from(["json", "xml"]),
           changes=st.one_of(st.dictionaries(st.sampled_from(FIELDS), st.one_of(st.none(), HOSTILE), max_size=2),
                             st.dictionaries(st.sampled_from(FIELDS), HOSTILE, min_size=3, max_size=len(FIELDS))))
    def post(fmt, changes):
        fields = {k: v for k, v in {**good, **changes}.items() if v is not None}
        sent[0] += 1  # a key posts POSTS_PER_KEY a minute: the clock moves on a minute before that
        clock.set(NOW + timedelta(minutes=sent[0] // (open311_api.POSTS_PER_KEY // 2)))
        before = row_counts(database_url)["reports"]
        response = open311.post(f"{V2}/requests.{fmt}", data=fields)
        count("open311 POST requests", str(response.status_code))
        assert response.status_code < 500, response.get_data(as_text=True)
        document = answer_document(response, fmt)
        after = row_counts(database_url)["reports"]
        if response.status_code == 200:
            posted[0] += 1
            assert after - before in (0, 1)  # 0: a repeated post answered with its first report
        else:
            assert after == before, document
        assert partial_writes(database_url) == {}

    post()
    assert posted[0] > 0  # some generated posts were good reports: the check above was not idle


@pytest.mark.parametrize("path", ["requests", "services", "services/infrastruktur", "requests/LAP-7K3QX9MA",
                                  "request/LAP-7K3QX9MA", "tokens/LAP-7K3QX9MA.0", "discovery"])
def test_generated_filters_are_answered_in_their_format(open311, path):
    @settings(max_examples=20, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(fmt=st.sampled_from(["json", "xml"]),
           params=st.dictionaries(st.sampled_from(["service_request_id", "service_code", "start_date", "end_date",
                                                   "status", "jurisdiction_id", "page", "page_size"]),
                                  st.one_of(text(), st.sampled_from(["2026-03-01T00:00:00+07:00", "open,closed",
                                                                     "LAP-7K3QX9MA,LAP-0000000O", "0000-01-01"])),
                                  max_size=4))
    def get(fmt, params):
        response = open311.get(f"{V2}/{path}.{fmt}", query_string=params)
        count(f"open311 GET {path}", str(response.status_code))
        assert response.status_code < 500, response.get_data(as_text=True)
        answer_document(response, fmt)

    get()


# Bytes no client library sends: invalid UTF-8 in a form body (the query and the path: test_bytes_on_the_wire);
# an XML or JSON body.

NOT_UTF8 = [b"description=%FF%FE%FD", b"service_code=caf%E9", b"lat=%C3%28", b"description=\xff\xfe\xed\xa0\x80"]


@pytest.mark.parametrize("body", NOT_UTF8)
def test_a_form_that_is_not_utf8_is_refused_and_stores_nothing(open311, database_url, body):
    """Percent-encoded bytes that are not UTF-8 arrive as their literal text, which the field's rules
    refuse (400); raw ones make the whole form unreadable, a form without its api_key (403)."""
    name = body.split(b"=")[0].decode()
    form = urlencode({k: v for k, v in post_fields().items() if k != name}).encode()
    for fmt in ("json", "xml"):
        response = open311.post(f"{V2}/requests.{fmt}", data=form + b"&" + body,
                                content_type="application/x-www-form-urlencoded")
        count("open311 not-utf8 form", str(response.status_code))
        assert response.status_code == (403 if b"%" not in body else 400), response.get_data(as_text=True)
        answer_document(response, fmt)
    assert row_counts(database_url)["reports"] == 0


@pytest.mark.parametrize("body, content_type", [
    (b'<?xml version="1.0"?><service_request><api_key>' + KEY.encode() + b"</api_key>", "text/xml"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "application/xml"),
    (b'{"api_key": "' + KEY.encode() + b'", "description": ', "application/json"),
    (b"\xff\xfe<\x00x\x00>", "text/xml"),
])
def test_an_xml_or_json_body_is_not_read_and_stores_nothing(open311, database_url, body, content_type):
    response = open311.post(f"{V2}/requests.xml", data=body, content_type=content_type)
    count("open311 xml-or-json body", str(response.status_code))
    assert response.status_code == 403  # no api_key among the form fields: the body was not read as one
    answer_document(response, "xml")
    assert row_counts(database_url)["reports"] == 0


def test_hostile_text_in_every_field_comes_back_as_text_in_xml(open311):
    """What a report holds is written into XML as text: no markup of its own, nothing that breaks the document."""
    for hostile in HOSTILE_TEXT:
        response = open311.post(f"{V2}/requests.xml", data=post_fields(address_string=hostile or "x"))
        assert response.status_code in (200, 400), response.get_data(as_text=True)
        ElementTree.fromstring(response.get_data())
