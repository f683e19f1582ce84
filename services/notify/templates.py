"""Message templates: one file per event and language, `templates/<event>.<lang>.txt`, for e-mail
and in-app; and for the events a reporter is told of, a short text per channel where every character
counts, `templates/sms/<event>.<lang>.txt` and `templates/x/<event>.<lang>.txt`.

An e-mail template's first line is `Subject: ...`, the rest is the body; a short text is all body,
its lines joined into one paragraph. `{tracking_id}` and the request's other params fill `{name}`
placeholders; a placeholder without a value stays visible as `{name}` so that a missing parameter
shows rather than silently vanishing. Every template is loaded and checked at
start: a missing or malformed file stops the service instead of failing one notification later.

Placeholders in use besides {tracking_id} and {tracking_url} (the report's public tracking page):
{agency} (forwarded, follow_up_posted), {reason} (needs_completion, archived, on_hold),
{duplicate_of} (duplicate), {deadline} (deadline_missed). Params are written into stored messages:
callers pass references and staff text, never reporter PII; the X reply's "@handle" is added when
it is sent. A short text that would not fit (see domain.sms_room and x_room) has its longest param
shortened, never the tracking ID or link.
"""

import logging
import re
import string
from dataclasses import dataclass
from pathlib import Path

from services.notify.domain import EVENTS, LANGUAGES, REPORTER_EVENTS, Channel, sms_room, x_room

log = logging.getLogger(__name__)

FOLDER = Path(__file__).with_name("templates")
_SUBJECT = "Subject:"
_PLACEHOLDER = re.compile(r"^[a-z][a-z0-9_]*$")
ROOM = {Channel.SMS: sms_room, Channel.X: x_room}  # the channels with short texts, and how much fits
UNCLIPPED = ("tracking_id", "tracking_url")
CLIPPED = "..."  # GSM-7, unlike "…"


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
        _check_placeholders(first, name)
        _check_placeholders(body, name)
        return cls(first[len(_SUBJECT):].strip(), body.strip("\n") + "\n")


def _check_placeholders(part: str, name: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(part) if f is not None]
    except ValueError as e:
        raise TemplateError(f"{name}: {e} (write a literal brace as {{{{ or }}}})") from None
    for field in fields:
        if not _PLACEHOLDER.match(field):
            raise TemplateError(f"{name}: placeholder {{{field}}} is not a name like {{tracking_id}}")


def _parse_short(text: str, name: str) -> str:
    """A short text: one paragraph, its lines joined with spaces."""
    if text.startswith(_SUBJECT):
        raise TemplateError(f"{name}: a short text has no subject")
    short = " ".join(text.split())
    if not short:
        raise TemplateError(f"{name}: the text is empty")
    _check_placeholders(short, name)
    return short


class _KeepUnknown(dict):
    def __missing__(self, key: str) -> str:
        log.warning("notification template placeholder {%s} has no value", key)
        return "{" + key + "}"


class Templates:
    """Every event's template in every language, loaded and checked once."""

    def __init__(self, templates: dict[tuple[str, str], Template], short: dict[tuple[Channel, str, str], str]):
        self._templates = templates
        self._short = short

    @classmethod
    def load(cls, folder: Path = FOLDER) -> "Templates":
        found: dict[tuple[str, str], Template] = {}
        short: dict[tuple[Channel, str, str], str] = {}
        missing = []
        for event in EVENTS:
            for language in LANGUAGES:
                path = folder / f"{event}.{language}.txt"
                if not path.is_file():
                    missing.append(path.name)
                    continue
                found[event, language] = Template.parse(path.read_text(encoding="utf-8"), path.name)
        for channel in ROOM:
            for event in REPORTER_EVENTS:
                for language in LANGUAGES:
                    path = folder / channel.value / f"{event}.{language}.txt"
                    name = f"{channel.value}/{path.name}"
                    if not path.is_file():
                        missing.append(name)
                        continue
                    short[channel, event, language] = _parse_short(path.read_text(encoding="utf-8"), name)
        if missing:
            raise TemplateError(f"missing notification templates in {folder}: {', '.join(missing)}")
        return cls(found, short)

    def render(self, event: str, language: str, values: dict[str, str]) -> Rendered:
        template = self._templates[event, language]
        fill = _KeepUnknown(values)
        # A subject is one header line: a value carrying a line break must not add headers.
        subject = " ".join(template.subject.format_map(fill).split())
        return Rendered(subject, template.body.format_map(fill))

    def render_short(self, channel: Channel, event: str, language: str, values: dict[str, str]) -> str:
        """The short text of an event for SMS or X, made to fit: while it is too long, the longest param
        is shortened (ending in "..."). The templates leave room for the params' usual lengths."""
        template = self._short[channel, event, language]
        room = ROOM[channel]
        values = {name: " ".join(value.split()) for name, value in values.items()}  # one paragraph
        text = template.format_map(_KeepUnknown(values))
        while (missing := -room(text)) > 0:
            longest = max((n for n in values if n not in UNCLIPPED), key=lambda n: len(values[n]), default=None)
            if longest is None or len(values[longest]) <= len(CLIPPED):  # only with a very long SP4N_PUBLIC_URL
                log.warning("%s/%s.%s.txt does not fit even with its params shortened", channel.value, event,
                            language)
                return text[:max(0, len(text) - missing - len(CLIPPED))] + CLIPPED
            keep = max(0, len(values[longest]) - missing - len(CLIPPED))
            values[longest] = values[longest][:keep].rstrip() + CLIPPED
            text = template.format_map(_KeepUnknown(values))
        return text
