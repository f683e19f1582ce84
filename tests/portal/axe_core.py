"""axe-core, the accessibility checker, for the browser tests: its npm package is fetched once from
the npm registry into .cache/ and checked against the integrity pinned here, so that a fresh machine
runs the checks without Node and a changed or corrupted download is refused."""

import base64
import hashlib
import io
import os
import tarfile
import urllib.request
from functools import cache

from tests.support import ROOT

VERSION = "4.14.1"
# The registry's dist.integrity of that version (`npm view axe-core@4.14.1 dist.integrity`).
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
TARBALL_URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
CACHED = ROOT / ".cache" / "npm" / f"axe-core-{VERSION}.tgz"


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tarball() -> bytes:
    """The package, from the cache or else the registry; refused unless it matches INTEGRITY."""
    data = CACHED.read_bytes() if CACHED.exists() else b""
    if integrity(data) != INTEGRITY:
        with urllib.request.urlopen(TARBALL_URL, timeout=120) as response:
            data = response.read()
        if integrity(data) != INTEGRITY:
            raise RuntimeError(f"{TARBALL_URL} does not match the pinned integrity {INTEGRITY}")
        CACHED.parent.mkdir(parents=True, exist_ok=True)
        partial = CACHED.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, CACHED)
    return data


@cache
def script() -> str:
    """axe.min.js of the pinned version."""
    with tarfile.open(fileobj=io.BytesIO(tarball()), mode="r:gz") as package:
        return package.extractfile("package/axe.min.js").read().decode()


# Run in the page: the violations of WCAG 2.x A and AA rules and best practices, each with the elements it concerns.
RUN = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
    v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" "))}))"""


def serious_violations(page) -> list[dict]:
    """What axe finds on the page with impact serious or critical."""
    return [v for v in page.evaluate(RUN) if v["impact"] in ("serious", "critical")]
