"""A follow-up's files are the reporter's and the agency's business only: no public surface lists or
serves them. Through real HTTP against the whole portal (pages, REST API, Open311) over the real intake."""

import pytest
import requests

from services.portal import api, open311
from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import LIAISON
from tests.portal.api_support import (forward, submit, agency_api, app_api, as_sla, clients, keys,  # noqa: F401
                                      public_api, root, serve_api)
from tests.portal.conftest import PDF, png

SECRET_NAME = "denah-rumah-pelapor"
# Open311's list covers 90 days up to now unless asked: the tests' reports are from March 2026 (T0).
WHEN = "?start_date=2026-03-15T00:00:00Z&end_date=2026-03-20T00:00:00Z"
BODY = "Lubang sudah ditambal; foto dan berita acara terlampir."


@pytest.fixture
def followed_up(app_api, as_sla, intake_stub):
    """A published report whose agency posted a follow-up with two files (ids 1 and 2)."""
    tracking_id = submit(app_api)["tracking_id"]
    forward(as_sla, tracking_id)
    entry = intake_stub.PostFollowUp(pb.PostFollowUpRequest(
        idempotency_key="fu-1", tracking_id=tracking_id, body=BODY,
        attachments=[pb.AttachmentUpload(filename=f"{SECRET_NAME}.png", content=png()),
                     pb.AttachmentUpload(filename=f"{SECRET_NAME}.pdf", content=PDF)]), metadata=LIAISON)
    assert [a.id for a in entry.attachments] == ["1", "2"]
    return tracking_id


def get(root: str, path: str) -> requests.Response:
    return requests.get(root + path, timeout=30, allow_redirects=False)


@pytest.mark.parametrize("path", [
    "/publik", "/publik/{id}", "/publik?q=lubang",
    api.PREFIX + "/public/reports", api.PREFIX + "/public/reports/{id}",
    open311.PREFIX + "/requests.json" + WHEN, open311.PREFIX + "/requests.xml" + WHEN,
    open311.PREFIX + "/requests/{id}.json",
    open311.PREFIX + "/requests/{id}.xml", open311.PREFIX + "/requests.json?service_request_id={id}",
])
def test_no_public_surface_lists_a_follow_ups_files(root, followed_up, path):
    response = get(root, path.format(id=followed_up))
    assert response.status_code == 200, response.text
    assert followed_up in response.text
    assert SECRET_NAME not in response.text and "lampiran" not in response.text.lower()
    assert "attachment" not in response.text.lower()


def test_the_public_page_shows_the_follow_up_without_its_files(root, followed_up):
    response = get(root, f"/publik/{followed_up}")
    assert "Lubang sudah ditambal" in response.text
    assert f"/lacak/{followed_up}/lampiran/" not in response.text


@pytest.mark.parametrize("path", [
    "/publik/{id}/lampiran/1", "/lacak/{id}/lampiran/1", "/lacak/{id}/lampiran/2", "/staf/instansi/{id}/lampiran/1",
    api.PREFIX + "/public/reports/{id}/attachments/1", open311.PREFIX + "/requests/{id}/media/1.json",
])
def test_no_one_without_access_gets_them(root, followed_up, path):
    response = get(root, path.format(id=followed_up))
    assert response.status_code in (303, 404), (path, response.status_code)
    assert response.content != png() and response.content != PDF
    if response.status_code == 303:  # the agency console: to the staff sign-in
        assert response.headers["Location"].startswith("/staf/masuk")
