"""The public side of the REST API: the feed of published reports (never a confidential one, never
who reported), one published report with its timeline, and support counted once per supporter."""

import pytest

from tests.portal.api_support import (forward, problem, refused_fields, stored, submit, agency_api,  # noqa: F401
                                      app_api, as_sla, clients, keys, public_api, root, serve_api)


@pytest.fixture
def published(app_api, as_sla):
    """Three reports: a published one, a published one in another category, a confidential one forwarded."""
    lamp = submit(app_api, "lamp", title="Lampu jalan mati di Batulicin", category="infrastruktur",
                  description="Lampu penerangan jalan sudah mati sebulan. Hubungi saya di 081234567890.")
    clinic = submit(app_api, "clinic", title="Puskesmas tutup pada jam kerja", category="kesehatan", region_code="6371",
                    description="Puskesmas di Banjarmasin Tengah tutup pukul sepuluh pagi setiap hari.")
    secret = submit(app_api, "secret", title="Pungutan liar di kantor kelurahan", confidential=True)
    for receipt in (lamp, clinic, secret):
        forward(as_sla, receipt["tracking_id"])
    return {"lamp": lamp["tracking_id"], "clinic": clinic["tracking_id"], "secret": secret["tracking_id"]}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["tracking_id"] for r in response.json()["reports"]]


def test_the_feed_shows_published_reports_redacted_and_never_a_confidential_one(public_api, published, app_api):
    unpublished = submit(app_api, "fresh")["tracking_id"]
    feed = public_api.get("/public/reports")
    assert sorted(ids(feed)) == sorted([published["lamp"], published["clinic"]])
    assert published["secret"] not in feed.text and unpublished not in feed.text
    assert "081234567890" not in feed.text and "Siti" not in feed.text
    assert "timeline" not in feed.json()["reports"][0]


def test_the_feed_is_searched_and_filtered(public_api, published):
    assert ids(public_api.get("/public/reports", params={"q": "lampu"})) == [published["lamp"]]
    assert ids(public_api.get("/public/reports", params={"category": "kesehatan"})) == [published["clinic"]]
    assert ids(public_api.get("/public/reports", params={"region_code": "6371"})) == [published["clinic"]]
    assert ids(public_api.get("/public/reports", params={"agency_id": "kota-banjarmasin"})) == []
    assert len(ids(public_api.get("/public/reports", params={"status": "forwarded"}))) == 2
    assert ids(public_api.get("/public/reports", params={"status": "closed"})) == []


def test_the_feed_comes_a_page_at_a_time(public_api, published):
    first = public_api.get("/public/reports", params={"page_size": 1}).json()
    second = public_api.get("/public/reports", params={"page_size": 1, "page_token": first["next_page_token"]}).json()
    assert "next_page_token" not in second
    assert {first["reports"][0]["tracking_id"], second["reports"][0]["tracking_id"]} == {published["lamp"],
                                                                                           published["clinic"]}


@pytest.mark.parametrize("params, field", [({"status": "terbuka"}, "status"), ({"page_size": "-1"}, "page_size"),
                                           ({"q": "x" * 501}, "q"), ({"page_token": "rusak"}, "page_token")])
def test_a_bad_feed_parameter_is_named(public_api, params, field):
    assert field in refused_fields(public_api.get("/public/reports", params=params))


def test_a_published_report_comes_with_its_public_timeline(public_api, published, agency_api):
    agency_api.post(f"/reports/{published['lamp']}/follow-ups", json={"body": "Lampu diganti hari Kamis."})
    report = public_api.get(f"/public/reports/{published['lamp']}")
    assert report.status_code == 200
    document = report.json()
    assert document["support_count"] == 0 and document["agency_name"] == "Dinas PUPR Kabupaten Tanah Bumbu"
    assert "Lampu diganti hari Kamis." in [e["body"] for e in document["timeline"]]
    assert "081234567890" not in report.text


def test_an_unpublished_or_unknown_report_is_not_found(public_api, published, app_api):
    fresh = submit(app_api, "fresh")["tracking_id"]
    for tracking_id in (published["secret"], fresh, "LAP-7K3QX9MA", "bukan"):
        assert problem(public_api.get(f"/public/reports/{tracking_id}"), 404)


def test_support_is_counted_once_per_supporter_of_each_app(clients, published, public_api, database_url):
    path = f"/public/reports/{published['lamp']}/support"
    first = clients["app-1"].post(path, json={"supporter": "perangkat-1"})
    assert first.status_code == 200 and first.json() == {"support_count": 1, "counted": True}
    assert clients["app-1"].post(path, json={"supporter": "perangkat-1"}).json() == {"support_count": 1,
                                                                                   "counted": False}
    # The same id in another app is another person.
    assert clients["app-2"].post(path, json={"supporter": "perangkat-1"}).json() == {"support_count": 2,
                                                                                   "counted": True}
    assert public_api.get(f"/public/reports/{published['lamp']}").json()["support_count"] == 2
    # A retried request with its Idempotency-Key answers as the first time.
    retried = [clients["app-1"].post(path, json={"supporter": "perangkat-2"}, headers={"Idempotency-Key": "d-2"})
               for _ in range(2)]
    assert [r.json() for r in retried] == [{"support_count": 3, "counted": True}] * 2


def test_support_needs_an_app_key_a_supporter_and_a_published_report(clients, published, public_api):
    path = f"/public/reports/{published['lamp']}/support"
    assert problem(public_api.post(path, json={"supporter": "s"}), 401)
    assert problem(clients["pupr"].post(path, json={"supporter": "s"}), 403)
    assert "supporter" in refused_fields(clients["app-1"].post(path, json={}))
    assert "supporter" in refused_fields(clients["app-1"].post(path, json={"supporter": "x" * 151}))
    assert problem(clients["app-1"].post(f"/public/reports/{published['secret']}/support", json={"supporter": "s"}),
                   404)
