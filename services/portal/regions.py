"""The reference list of regions (every province, regency and city, by BPS code) as the portal's
forms, APIs and pages use it. Routing owns the list; the portal asks for it once when it starts,
waiting for routing if it must, and keeps it (the list changes by law, rarely: a restart of the
portal takes a new one).

Region names are proper names and stay in Indonesian; in English only the word for the kind moves
("Kabupaten Tanah Bumbu" reads "Tanah Bumbu Regency")."""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import grpc
from flask import Flask, current_app

from services.portal.i18n import current
from sp4n.routing.v1 import routing_pb2

log = logging.getLogger(__name__)

EXTENSION = "sp4n.regions"
# The kind's word at the start of an official name, and how English says it (after the name).
KIND_WORDS = (("Kota Administrasi ", "Administrative City"), ("Kabupaten Administrasi ", "Administrative Regency"),
              ("Provinsi ", "Province"), ("Kabupaten ", "Regency"), ("Kota ", "City"))


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    kind: str  # province, regency or city
    parent_code: str = ""  # the province of a regency or city


class Regions:
    """The list in code order, each province followed by its regencies and cities."""

    def __init__(self, regions: Iterable[Region]):
        self._by_code = {r.code: r for r in sorted(regions, key=lambda r: r.code)}
        if not self._by_code:
            raise ValueError("the region list is empty")

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Region]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def provinces(self) -> list[tuple[Region, list[Region]]]:
        """Each province with its regencies and cities."""
        grouped: dict[str, tuple[Region, list[Region]]] = {}
        for region in self:
            if region.kind == "province":
                grouped[region.code] = (region, [])
            elif region.parent_code in grouped:
                grouped[region.parent_code][1].append(region)
        return list(grouped.values())

    def name(self, code: str) -> str:
        """The region's name in the request's language; the code itself if it is not on the list."""
        region = self._by_code.get(code)
        if region is None:
            return code
        return english_name(region.name) if current() == "en" else region.name


def english_name(name: str) -> str:
    for word, english in KIND_WORDS:
        if name.startswith(word):
            return f"{name.removeprefix(word)} {english}"
    return name


def fetch(routing, *, timeout: float) -> Regions:
    """The list from routing (its stub), waiting up to `timeout` seconds for routing to answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = routing.ListRegions(routing_pb2.ListRegionsRequest(), wait_for_ready=True,
                                         timeout=max(deadline - time.monotonic(), 0.1))
            break
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) \
                    or time.monotonic() >= deadline:
                raise
    regions = Regions(Region(r.code, r.name, r.kind, r.parent_code) for r in answer.regions)
    log.info("region list from routing: %d regions", len(regions))
    return regions


def install(app: Flask, regions: Regions) -> None:
    app.extensions[EXTENSION] = regions
    app.jinja_env.globals["regions"] = lambda: current_app.extensions[EXTENSION]


def of_app() -> Regions:
    """The list of the app serving the request."""
    return current_app.extensions[EXTENSION]
