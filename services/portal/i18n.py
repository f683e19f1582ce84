"""The portal's languages: Indonesian, in which every page and message is written, and English.

Text is looked up by its Indonesian wording: `_("Lacak laporan")` is the Indonesian text itself,
and `translations/en/*.json` map each wording to its English one. A wording with parameters names
them, `_("%(n)s dukungan", n=3)`, so that a translation may move them. A wording kept in a table
at import time is marked `N_("...")` and passed through `_` where it is shown. A test checks that
every wording marked with `_` or `N_` in the templates and modules has an English entry.

A person chooses the language with `?lang=en` (or `?lang=id`) on any page; the choice is kept in a
cookie. Without a choice the pages are in Indonesian, whatever the browser asks for.
"""

import json
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, g, has_request_context, request

LANGUAGES = ("id", "en")
DEFAULT = "id"
SOURCE = "id"  # the language the wordings are written in
COOKIE = "sp4n_bahasa"
COOKIE_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).with_name("translations")


@cache
def catalog(language: str) -> dict[str, str]:
    """Every wording's translation into `language`, from all its catalog files."""
    entries: dict[str, str] = {}
    for path in sorted((TRANSLATIONS / language).glob("*.json")):
        for source, translated in json.loads(path.read_text(encoding="utf-8")).items():
            if source in entries and entries[source] != translated:
                raise ValueError(f"{path.name}: {source!r} is translated differently in another catalog")
            entries[source] = translated
    return entries


def current() -> str:
    """The language of the request being served (Indonesian outside a request)."""
    return g.get("lang", DEFAULT) if has_request_context() else DEFAULT


def translate(text: str, language: str, **params) -> str:
    wording = text if language == SOURCE else catalog(language).get(text, text)
    return wording % params if params else wording


def gettext(text: str, **params) -> str:
    """`text` (an Indonesian wording) in the current language, with `params` filled in."""
    return translate(text, current(), **params)


_ = gettext


def N_(text: str) -> str:
    """Marks a wording kept in a table and translated where it is used (`_` at request time)."""
    return text


def init_app(app: Flask) -> None:
    """Chooses each request's language and offers `_`, `lang` and `language_switch_url` to templates."""

    @app.before_request
    def choose_language():
        asked = request.args.get("lang")
        g.lang_chosen = asked if asked in LANGUAGES else None
        kept = request.cookies.get(COOKIE)
        g.lang = g.lang_chosen or (kept if kept in LANGUAGES else DEFAULT)

    @app.after_request
    def keep_language(response):
        if g.get("lang_chosen") and request.cookies.get(COOKIE) != g.lang_chosen:
            response.set_cookie(COOKIE, g.lang_chosen, max_age=COOKIE_AGE, httponly=True, samesite="Lax",
                                secure=request.is_secure)
        return response

    app.jinja_env.globals.update(_=gettext, lang=current, language_switch_url=switch_url)


def switch_url(language: str) -> str:
    """This page in `language`: the same path and query with `lang` set. A page answering a posted
    form cannot be fetched again, so from one the switch leads to the home page."""
    if request.method != "GET":
        return f"/?lang={language}"
    args = request.args.to_dict(flat=False) | {"lang": [language]}
    return f"{request.path}?{urlencode(args, doseq=True)}"
