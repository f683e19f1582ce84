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


def publish(as_sla, tracking_id, agency_id="kab-tanah-bumbu-dinas-pupr", agency_name="Dinas PUPR Kabupaten Tanah Bumbu"):
    as_sla.ForwardReport(intake_pb2.ForwardReportRequest(
        idempotency_key=f"fwd-{tracking_id}", tracking_id=tracking_id, agency_id=agency_id, agency_name=agency_name))


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


def test_a_reports_agency_leads_to_that_agencys_reports_and_back_to_all(client, as_sla):
    road = submitted(client, title="Jalan berlubang di Batulicin")
    clinic = submitted(client, title="Puskesmas Simpang Empat tutup siang", category="kesehatan")
    publish(as_sla, road)
    publish(as_sla, clinic, agency_id="kab-tanah-bumbu-dinas-kesehatan", agency_name="Dinas Kesehatan Tanah Bumbu")
    feed = page(client.get("/publik"))
    [to_health] = feed.xpath("//a[@class='agency' and text()='Dinas Kesehatan Tanah Bumbu']/@href")
    assert to_health == "/publik?instansi=kab-tanah-bumbu-dinas-kesehatan"
    filtered = page(client.get(to_health))
    assert [a.get("href") for a in filtered.xpath("//ol[@class='feed']//h2/a")] == [f"/publik/{clinic}"]
    chosen = filtered.get_element_by_id("chosen-agency")
    assert "Dinas Kesehatan Tanah Bumbu" in chosen.text_content()
    assert chosen.xpath(".//a/@href") == ["/publik"]
    # The other filters keep the agency; the report page leads to its agency's reports too.
    assert filtered.xpath("//form[@role='search']//input[@name='instansi']/@value") == ["kab-tanah-bumbu-dinas-kesehatan"]
    assert page(client.get(f"/publik/{road}")).xpath("//dd[@id='agency']/a/@href") == [
        "/publik?instansi=kab-tanah-bumbu-dinas-pupr"]


def test_bad_filters_and_page_links_are_refused(client):
    assert client.get("/publik?kategori=bukan-kategori").status_code == 400
    assert client.get("/publik?instansi=Bukan%20Instansi").status_code == 400
    assert client.get("/publik?wilayah=6399").status_code == 400
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
