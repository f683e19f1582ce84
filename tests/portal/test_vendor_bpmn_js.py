"""The portal serves bpmn-js's navigated viewer, its CSS and the bpmn font from static/vendor/bpmn-js/, where
`make vendor` copies them from the pinned npm package (make run and make test do it first)."""

from pathlib import Path

import pytest

from tests.support import ROOT

VENDOR = ROOT / "services" / "portal" / "static" / "vendor" / "bpmn-js"


@pytest.fixture(autouse=True)
def vendored():
    if not (VENDOR / ".stamp").exists():
        pytest.fail(f"{VENDOR.relative_to(ROOT)} is missing: run `make vendor` (make test does)")


def fetch(client, path: str):
    """The response to GET `path`, read and closed (a static file is streamed from an open file)."""
    with client.get(path) as response:
        response.get_data()
    return response


def test_make_vendor_fills_the_portals_static_folder(app):
    assert Path(app.static_folder) == VENDOR.parent.parent
    assert app.static_url_path == "/static"


def test_the_viewer_is_served_as_javascript(client):
    response = fetch(client, "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert b"BpmnJS" in response.data
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["bpmn-js.css", "diagram-js.css", "bpmn-font/css/bpmn.css"])
def test_its_stylesheets_are_served(client, path):
    response = fetch(client, f"/static/vendor/bpmn-js/{path}")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_the_font_is_where_its_stylesheet_looks(client):
    stylesheet = fetch(client, "/static/vendor/bpmn-js/bpmn-font/css/bpmn.css").get_data(as_text=True)
    assert "url('../font/bpmn.woff2" in stylesheet
    assert fetch(client, "/static/vendor/bpmn-js/bpmn-font/font/bpmn.woff2").status_code == 200
