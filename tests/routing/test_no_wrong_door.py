"""No wrong door: whatever a report is and wherever it comes from, routing names an agency, declines
walk it down the fallback chain to the national desk, and an inactive agency is never chosen. Through
the real gRPC server over the demo directory, with agencies deactivated by the directory import."""

import grpc
import pytest

from services.plumbing import categories
from services.routing import demo
from sp4n.routing.v1 import routing_pb2 as pb
from tests.routing.test_decline import decline, officer_of
from tests.routing.test_directory_api import ADMIN
from tests.routing.test_grpc_api import SLA, assign

INACTIVE = ("prov-kalimantan-selatan-dinas-kesehatan", "kementerian-kesehatan", "kota-banjarmasin")
CATEGORIES = (*categories.CODES, "")  # and a report with none
REGIONS = ("6310012005", "6310", "6311", "6371", "63", "3171", "3172", "31", "9471", "")


def deactivate(stub, *agency_ids: str) -> None:
    """Lists the agencies as inactive in the demo directory and imports it, as a national administrator would."""
    lines = demo.AGENCIES_CSV.read_text().splitlines(keepends=True)
    edited = "".join(line.replace(",true\n", ",false\n") if line.split(",")[0] in agency_ids else line
                     for line in lines)
    got = stub.ImportAgencies(pb.ImportAgenciesRequest(idempotency_key="deactivate", agencies_csv=edited.encode()),
                              metadata=ADMIN)
    assert sorted(got.changed_agency_ids) == sorted(agency_ids)


def walk(stub, tracking_id: str, **fields) -> list[tuple[str, str]]:
    """Assigns the report, has each agency decline it in turn, and returns (agency, matched by) down to the
    national desk: the path a report takes when no one else will have it."""
    path, excluded = [], []
    for n in range(len(demo.AGENCIES) + 2):
        got = assign(stub, tracking_id, key=f"{tracking_id}-assign-{n}", excluded_agency_ids=excluded, **fields)
        assert got.active and got.agency.active
        path.append((got.agency.id, got.matched_by))
        if got.agency.id == "nasional":
            return path
        decline(stub, metadata=officer_of(got.agency.id), key=f"{tracking_id}-decline-{n}", tracking_id=tracking_id,
                reason="Bukan wewenang instansi kami.")
        excluded.append(got.agency.id)
    raise AssertionError(f"{tracking_id} never reached the national desk: {path}")


def test_declines_walk_a_report_down_the_whole_chain_to_the_national_desk(stub):
    assert walk(stub, "LAP-AAAA0001", category="kesehatan", region_code="6310012005") == [
        ("kab-tanah-bumbu-dinas-kesehatan", "rule"),          # the regency's unit
        ("prov-kalimantan-selatan-dinas-kesehatan", "rule"),  # the province's
        ("kementerian-kesehatan", "rule"),                    # the ministry, anywhere
        ("kab-tanah-bumbu", "region"),                        # the government of the regency
        ("prov-kalimantan-selatan", "region"),                # of the province
        ("nasional", "national")]                             # and the national desk, which cannot decline


def test_inactive_agencies_are_passed_over_at_every_step(stub):
    deactivate(stub, *INACTIVE)
    assert walk(stub, "LAP-AAAA0001", category="kesehatan", region_code="6310012005") == [
        ("kab-tanah-bumbu-dinas-kesehatan", "rule"), ("kab-tanah-bumbu", "region"),
        ("prov-kalimantan-selatan", "region"), ("nasional", "national")]
    # The government of an inactive city: its province takes the report.
    assert walk(stub, "LAP-AAAA0002", category="lingkungan", region_code="6371")[0] == (
        "prov-kalimantan-selatan", "region")
    # An inactive agency chosen by an administrator, or suggested by the reporter, is passed over too.
    got = assign(stub, "LAP-AAAA0003", category="kesehatan", region_code="6371",
                 preferred_agency_id="kota-banjarmasin", suggested_agency_id="kementerian-kesehatan")
    assert (got.agency.id, got.matched_by) == ("prov-kalimantan-selatan", "region")


@pytest.mark.parametrize("inactive", [(), INACTIVE])
def test_every_report_reaches_an_active_agency_and_at_last_the_national_desk(stub, inactive):
    if inactive:
        deactivate(stub, *inactive)
    for n, (category, region) in enumerate((c, r) for c in CATEGORIES for r in REGIONS):
        path = walk(stub, f"LAP-{n:08d}", category=category, region_code=region)
        chosen = [agency_id for agency_id, _ in path]
        assert len(chosen) == len(set(chosen)), path  # an agency that declined is never chosen again
        assert not set(chosen) & set(inactive), path
        assert path[-1] == ("nasional", "national")


def test_an_unknown_preferred_agency_is_still_refused_while_an_inactive_one_is_passed_over(stub):
    deactivate(stub, "kota-banjarmasin")
    with pytest.raises(grpc.RpcError) as e:
        assign(stub, "LAP-AAAA0001", preferred_agency_id="kota-atlantis")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    got = stub.AssignReport(pb.AssignReportRequest(idempotency_key="k", tracking_id="LAP-AAAA0001",
                                                   preferred_agency_id="kota-banjarmasin"), metadata=SLA)
    assert (got.agency.id, got.matched_by) == ("nasional", "national")
