"""Message templates: every event in both languages, placeholders, and refusing broken files."""

import shutil

import pytest

from services.notify.domain import EVENTS, LANGUAGES
from services.notify.templates import FOLDER, TemplateError, Templates

TEMPLATES = Templates.load()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_event_renders_in_both_languages_with_the_tracking_id(event, language):
    rendered = TEMPLATES.render(event, language, {"tracking_id": "LAP-7K3QX9MA", "agency": "Dinas PUPR",
                                                   "reason": "alasan", "duplicate_of": "LAP-22222222",
                                                   "deadline": "tindak lanjut", "due_at": "2026-11-05T23:59:59+07:00"})
    assert "LAP-7K3QX9MA" in rendered.subject and "LAP-7K3QX9MA" in rendered.body
    assert "\n" not in rendered.subject and rendered.subject == rendered.subject.strip()
    assert "{" not in rendered.subject + rendered.body
    assert rendered.body.startswith(("Yth. ", "Dear "))  # a generic greeting: no name is ever known here


@pytest.mark.parametrize("event", EVENTS)
def test_the_languages_differ(event):
    values = {"tracking_id": "LAP-7K3QX9MA"}
    assert TEMPLATES.render(event, "id", values).subject != TEMPLATES.render(event, "en", values).subject


def test_a_placeholder_without_a_value_stays_visible_and_values_are_not_formatted_again():
    rendered = TEMPLATES.render("forwarded", "en", {"tracking_id": "LAP-7K3QX9MA"})
    assert "{agency}" in rendered.body
    rendered = TEMPLATES.render("archived", "id", {"tracking_id": "LAP-7K3QX9MA", "reason": "{tracking_id} {0}"})
    assert "Alasan: {tracking_id} {0}" in rendered.body


def test_a_value_cannot_add_a_line_to_the_subject():
    rendered = TEMPLATES.render("received", "en", {"tracking_id": "LAP-1\r\nBcc: someone@example.id"})
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def copy_of_templates(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(FOLDER, folder)
    return folder


def test_a_missing_template_stops_loading_and_names_the_file(tmp_path):
    folder = copy_of_templates(tmp_path)
    (folder / "closed.en.txt").unlink()
    with pytest.raises(TemplateError, match="closed.en.txt"):
        Templates.load(folder)


@pytest.mark.parametrize("text, problem", [
    ("Halo {tracking_id}\nbody\n", "Subject"),
    ("Subject: \nbody\n", "Subject"),
    ("Subject: ok {tracking_id}\n\n", "body is empty"),
    ("Subject: ok\nbody {tracking_id\n", "brace"),
    ("Subject: ok\nbody {0}\n", "placeholder"),
    ("Subject: ok\nbody {tracking_id.upper}\n", "placeholder"),
])
def test_a_malformed_template_stops_loading(tmp_path, text, problem):
    folder = copy_of_templates(tmp_path)
    (folder / "closed.id.txt").write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=problem) as e:
        Templates.load(folder)
    assert "closed.id.txt" in str(e.value)
