"""The public feed pages: published reports only, searchable and filtered, with support counted once."""

import pytest

from services.portal.feed import SUPPORTER_COOKIE
from services.plumbing import channels, identity
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from tests.portal.test_pages import page, submitted
from tests.support import IDENTITY_KEY


@pytest.fixture
def as_sla(intake_address):
    channel = channels.connect(intake_address, identity.ServiceSigner("sla", IDENTITY_KEY))
    yield intake_pb2_grpc.IntakeServiceStub(channel)
    channel.close()


def publish(as_sla, tracking_id):
    as_sla.ForwardReport(intake_pb2.ForwardReportRequest(
        idempotency_key=f"fwd-{tracking_id}", tracking_id=tracking_id, agency_id="kab-tanah-bumbu-dinas-pupr",
        agency_name="Dinas PUPR Kabupaten Tanah Bumbu"))


def test_published_reports_are_listed_searchable_and_confidential_ones_never(client, as_sla):
    lamp = submitted(client, title="Lampu jalan mati di Batulicin",
                     description="Lampu penerangan jalan sudah mati sebulan, hubungi 081234567890.")
    secret = submitted(client, title="Pungutan liar di kantor kelurahan", confidential="ya")
    unpublished = submitted(client, title="Jalan berlubang di Simpang Empat")
    publish(as_sla, lamp)
    publish(as_sla, secret)
    text = " ".join(page(client.get("/publik")).text_content().split())
    assert "Lampu jalan mati di Batulicin" in text
    assert "Pungutan liar" not in text and "Simpang Empat" not in text
    assert lamp in client.get("/publik?q=lampu").get_data(as_text=True)
    assert lamp not in client.get("/publik?q=sekolah").get_data(as_text=True)
    assert lamp not in client.get("/publik?kategori=kesehatan").get_data(as_text=True)
    assert client.get(f"/publik/{secret}").status_code == 404
    assert client.get(f"/publik/{unpublished}").status_code == 404
    shown = client.get(f"/publik/{lamp}").get_data(as_text=True)
    assert "081234567890" not in shown and "[disembunyikan]" in shown


def test_bad_filters_and_page_links_are_refused(client):
    assert client.get("/publik?kategori=bukan-kategori").status_code == 400
    assert client.get("/publik?halaman=palsu").status_code == 400


def test_support_counts_once_per_supporter_and_needs_the_supporter_cookie(client, app, as_sla):
    tracking_id = submitted(client)
    publish(as_sla, tracking_id)
    assert client.post(f"/publik/{tracking_id}/dukung").status_code == 400  # no cookie yet: a forged post
    client.get(f"/publik/{tracking_id}")  # sets the cookie
    assert client.get_cookie(SUPPORTER_COOKIE) is not None
    for _ in range(2):
        assert client.post(f"/publik/{tracking_id}/dukung").status_code == 303
    count = page(client.get(f"/publik/{tracking_id}")).get_element_by_id("support-count").text_content()
    assert count == "1"
    other = app.test_client()
    other.get(f"/publik/{tracking_id}")
    other.post(f"/publik/{tracking_id}/dukung")
    assert page(other.get(f"/publik/{tracking_id}")).get_element_by_id("support-count").text_content() == "2"
