"""The reference list of regions in the portal: taken from routing at start, offered by the forms
grouped by province, checked at every door (form, REST API, Open311), named in the reader's language."""

import grpc
import pytest
from flask import Flask

from services.plumbing import channels, identity
from services.portal import i18n, regions
from services.routing import grpc_api as routing_api
from services.routing.service import RoutingService
from sp4n.routing.v1 import routing_pb2_grpc
from tests.portal.api_support import (app_api, clients, keys, refused_fields, report_body, root,  # noqa: F401
                                      serve_api, stored)
from tests.intake.reports import row_counts
from tests.portal.conftest import REGIONS
from tests.portal.test_open311 import error
from tests.portal.test_open311_fakes import V2, make_open311_app, post_fields  # noqa: F401 (fixture)
from tests.portal.test_open311_intake import api  # noqa: F401 (fixture)
from tests.portal.test_pages import NOTHING, page, report_form, text_of
from tests.support import IDENTITY_KEY


def test_the_portal_takes_the_whole_list_from_routing(grpc_address, pool, clock):
    routing = RoutingService(pool=pool, clock=clock)
    routing.load_regions()
    address = grpc_address("routing", routing_api.register(routing))
    with channels.connect(address, identity.ServiceSigner("portal", IDENTITY_KEY)) as channel:
        fetched = regions.fetch(routing_pb2_grpc.RoutingServiceStub(channel), timeout=10)
    assert len(fetched) == 38 + 514
    assert [r.code for r in fetched] == [r.code for r in REGIONS]
    south_kalimantan = dict((p.code, [r.code for r in within]) for p, within in fetched.provinces())["63"]
    assert len(south_kalimantan) == 13 and "6310" in south_kalimantan and "6371" in south_kalimantan


def test_without_routing_the_portal_does_not_start_with_an_empty_list(closed_address):
    with channels.connect(closed_address, identity.ServiceSigner("portal", IDENTITY_KEY)) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            regions.fetch(routing_pb2_grpc.RoutingServiceStub(channel), timeout=1)
    assert raised.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


@pytest.mark.parametrize("language, code, name", [
    ("id", "6310", "Kabupaten Tanah Bumbu"), ("en", "6310", "Tanah Bumbu Regency"),
    ("en", "63", "Kalimantan Selatan Province"), ("en", "3171", "Jakarta Selatan Administrative City"),
    ("en", "6371", "Banjarmasin City"), ("en", "9999", "9999"),
])
def test_names_are_official_and_in_english_only_the_kind_moves(language, code, name):
    app = Flask(__name__)
    i18n.init_app(app)
    regions.install(app, REGIONS)
    with app.test_request_context(f"/?lang={language}"):
        app.preprocess_request()
        assert regions.of_app().name(code) == name


def test_the_form_offers_every_region_by_province_and_takes_one_beyond_the_demo_list(visitor, database_url):
    person = visitor()
    form = page(person.get("/"))
    groups = form.xpath("//select[@id='region_code']/optgroup")
    assert len(groups) == 38 and len(form.xpath("//select[@id='region_code']//option[@value!='']")) == 552
    [bandung] = form.xpath("//select[@id='region_code']//option[@value='3273']")
    assert bandung.text == "Kota Bandung" and bandung.getparent().get("label") == "Provinsi Jawa Barat"
    sent = person.post("/laporan", data=report_form(person, region_code="3273"))
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/laporan/terkirim")
    assert row_counts(database_url)["reports"] == 1


def test_the_form_refuses_a_code_not_on_the_list_and_stores_nothing(visitor, database_url):
    person = visitor()
    refused = person.post("/laporan", data=report_form(person, region_code="6399"))
    assert refused.status_code == 400 and "Pilih wilayah dari daftar." in text_of(refused)
    assert row_counts(database_url) == {**row_counts(database_url), **NOTHING}


def test_the_api_lists_the_regions_and_refuses_a_code_not_on_it(app_api, database_url):
    body = report_body(region_code="6399")
    fields = refused_fields(app_api.post("/reports", json=body, headers={"Idempotency-Key": "k-region"}))
    assert list(fields) == ["region_code"] and "BPS code" in fields["region_code"]
    assert stored(database_url)["reports"] == 0
    accepted = app_api.post("/reports", json=report_body(region_code="3273"), headers={"Idempotency-Key": "k-2"})
    assert accepted.status_code == 201, accepted.text


def test_open311_defines_the_region_attribute_by_the_list_and_refuses_others(api, database_url):
    definition = api.get(f"{V2}/services/infrastruktur.json").get_json()
    [region] = [a for a in definition["attributes"] if a["code"] == "region_code"]
    assert len(region["values"]) == 552 and {"key": "6310", "name": "Kabupaten Tanah Bumbu"} in region["values"]
    description = error(api, "requests", 400, method="POST", **post_fields(attribute_region_code="6399"))
    assert description.startswith("attribute[region_code] must be the BPS code")
    assert row_counts(database_url)["reports"] == 0
