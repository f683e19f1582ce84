"""Message templates: one file per event and language, `templates/<event>.<lang>.txt`.

The first line is `Subject: ...`, the rest is the body. `{tracking_id}` and the request's other
params fill `{name}` placeholders; a placeholder without a value stays visible as `{name}` so that
a missing parameter shows rather than silently vanishing. Every template is loaded and checked at
start: a missing or malformed file stops the service instead of failing one notification later.

Placeholders in use besides {tracking_id}: {agency} (forwarded, follow_up_posted), {reason}
(needs_completion, archived, on_hold), {duplicate_of} (duplicate), {deadline} (deadline_missed).
Params are written into stored messages: callers pass references and staff text, never reporter PII.
"""

import logging
import re
import string
from dataclasses import dataclass
from pathlib import Path

from services.notify.domain import EVENTS, LANGUAGES

log = logging.getLogger(__name__)

FOLDER = Path(__file__).with_name("templates")
_SUBJECT = "Subject:"
_PLACEHOLDER = re.compile(r"^[a-z][a-z0-9_]*$")


class TemplateError(RuntimeError):
    """A template is missing or cannot be used."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@dataclass(frozen=True)
class Template:
    subject: str
    body: str

    @classmethod
    def parse(cls, text: str, name: str) -> "Template":
        first, _, body = text.partition("\n")
        if not first.startswith(_SUBJECT) or not first[len(_SUBJECT):].strip():
            raise TemplateError(f"{name}: the first line must be 'Subject: ...'")
        if not body.strip():
            raise TemplateError(f"{name}: the body is empty")
        for part in (first, body):
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(part) if f is not None]
            except ValueError as e:
                raise TemplateError(f"{name}: {e} (write a literal brace as {{{{ or }}}})") from None
            for field in fields:
                if not _PLACEHOLDER.match(field):
                    raise TemplateError(f"{name}: placeholder {{{field}}} is not a name like {{tracking_id}}")
        return cls(first[len(_SUBJECT):].strip(), body.strip("\n") + "\n")


class _KeepUnknown(dict):
    def __missing__(self, key: str) -> str:
        log.warning("notification template placeholder {%s} has no value", key)
        return "{" + key + "}"


class Templates:
    """Every event's template in every language, loaded and checked once."""

    def __init__(self, templates: dict[tuple[str, str], Template]):
        self._templates = templates

    @classmethod
    def load(cls, folder: Path = FOLDER) -> "Templates":
        found: dict[tuple[str, str], Template] = {}
        missing = []
        for event in EVENTS:
            for language in LANGUAGES:
                path = folder / f"{event}.{language}.txt"
                if not path.is_file():
                    missing.append(path.name)
                    continue
                found[event, language] = Template.parse(path.read_text(encoding="utf-8"), path.name)
        if missing:
            raise TemplateError(f"missing notification templates in {folder}: {', '.join(missing)}")
        return cls(found)

    def render(self, event: str, language: str, values: dict[str, str]) -> Rendered:
        template = self._templates[event, language]
        fill = _KeepUnknown(values)
        # A subject is one header line: a value carrying a line break must not add headers.
        subject = " ".join(template.subject.format_map(fill).split())
        return Rendered(subject, template.body.format_map(fill))
