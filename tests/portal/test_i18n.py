"""Every wording the portal shows has its English translation, and the language switch works."""

import ast
import re
from pathlib import Path

import pytest
from flask import Flask, render_template_string

from services.portal import i18n

PORTAL = Path(i18n.__file__).parent
# _("...") or _('...') in a template, with or without parameters after the wording.
TEMPLATE_WORDING = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def template_wordings() -> set[str]:
    found = set()
    for path in (PORTAL / "templates").glob("*.html"):
        for double, single in TEMPLATE_WORDING.findall(path.read_text(encoding="utf-8")):
            found.add(double or single)
    return found


def module_wordings() -> set[str]:
    """Wordings marked `_("...")` or `N_("...")` in the portal's modules."""
    found = set()
    for path in PORTAL.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_") \
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def test_the_extraction_finds_what_the_pages_show():
    wordings = template_wordings() | module_wordings()
    assert {"Lacak laporan", "Laporan publik", "%(n)s dukungan", "Menunggu verifikasi"} <= wordings


def test_every_wording_has_an_english_translation():
    missing = sorted((template_wordings() | module_wordings()) - set(i18n.catalog("en")))
    assert missing == []


def test_translations_keep_the_parameters_of_their_wording():
    names = re.compile(r"%\((\w+)\)s")
    wrong = {source: translated for source, translated in i18n.catalog("en").items()
             if sorted(names.findall(source)) != sorted(names.findall(translated))}
    assert wrong == {}


@pytest.fixture
def app():
    app = Flask(__name__)
    i18n.init_app(app)
    app.add_url_rule("/", "page", lambda: render_template_string('{{ lang() }}|{{ _("Lacak laporan") }}|'
                                                                  '{{ language_switch_url("en") }}'))
    return app


def test_pages_are_indonesian_unless_english_is_chosen_and_the_choice_is_kept(app):
    client = app.test_client()
    assert client.get("/", headers={"Accept-Language": "en"}).text.startswith("id|Lacak laporan|")
    chosen = client.get("/?lang=en")
    assert chosen.text.startswith("en|Track a report|")
    assert "HttpOnly" in chosen.headers["Set-Cookie"] and i18n.COOKIE in chosen.headers["Set-Cookie"]
    assert client.get("/").text.startswith("en|")  # the cookie keeps it
    assert client.get("/?lang=id").text.startswith("id|")
    assert client.get("/?lang=xx").text.startswith("id|")  # an unknown language is not a choice


def test_the_switch_keeps_the_page_and_its_query(app):
    text = app.test_client().get("/?q=lampu&lang=id").text
    assert text.endswith("|/?q=lampu&amp;lang=en")  # escaped as an attribute value


def test_a_wording_without_a_translation_is_shown_as_written():
    assert i18n.translate("Kalimat yang belum diterjemahkan", "en") == "Kalimat yang belum diterjemahkan"
    assert i18n.translate("%(n)s dukungan", "en", n=3) == "3 supporters"
