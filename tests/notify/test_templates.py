"""Message templates: every event in both languages, placeholders, and refusing broken files."""

import shutil

import pytest

from services.notify.domain import (EVENTS, LANGUAGES, REPORTER_EVENTS, SMS_SEPTETS, SMS_UCS2, X_CHARACTERS,
                                    Channel, gsm7, sms_room, x_room)
from services.notify.templates import FOLDER, TemplateError, Templates

TEMPLATES = Templates.load()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_event_renders_in_both_languages_with_the_tracking_id(event, language):
    rendered = TEMPLATES.render(event, language, {"tracking_id": "LAP-7K3QX9MA", "agency": "Dinas PUPR",
                                                   "tracking_url": "https://www.lapor.go.id/lacak/LAP-7K3QX9MA",
                                                   "reason": "alasan", "duplicate_of": "LAP-22222222",
                                                   "deadline": "tindak lanjut", "due_at": "2026-11-05T23:59:59+07:00"})
    assert "LAP-7K3QX9MA" in rendered.subject and "LAP-7K3QX9MA" in rendered.body
    assert "\n" not in rendered.subject and rendered.subject == rendered.subject.strip()
    assert "{" not in rendered.subject + rendered.body
    assert rendered.body.startswith(("Yth. ", "Dear "))  # a generic greeting: no name is ever known here


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_escalation_tells_the_parent_agency_which_agency_missed_which_deadline(language):
    rendered = TEMPLATES.render("escalation", language, {
        "tracking_id": "LAP-7K3QX9MA", "tracking_url": "https://www.lapor.go.id/lacak/LAP-7K3QX9MA",
        "agency": "Dinas PUPR Kabupaten Tanah Bumbu", "deadline": "tindak lanjut"})
    assert "Dinas PUPR Kabupaten Tanah Bumbu" in rendered.subject
    assert all(value in rendered.body for value in ("Dinas PUPR Kabupaten Tanah Bumbu", '"tindak lanjut"',
                                                    "https://www.lapor.go.id/lacak/LAP-7K3QX9MA"))
    assert "escalation" not in REPORTER_EVENTS  # staff are told; a reporter never is


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


# The short texts for SMS and X. Rule for SMS: at most three concatenated segments, 459 GSM-7
# septets or 201 UCS-2 characters; for X: 280 characters including the "@handle " of the reply.
TRACKING_ID = "LAP-7K3QX9MA"
URL = f"https://www.lapor.go.id/lacak/{TRACKING_ID}"
USUAL = {"tracking_id": TRACKING_ID, "tracking_url": URL, "duplicate_of": "LAP-22222222",
         "agency": "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Tanah Bumbu",
         "reason": "Lokasi kejadian belum jelas; sebutkan nama jalan dan desa atau kelurahan."}
LONGEST = {**USUAL, "agency": "Kementerian " + "Pendayagunaan Aparatur Negara " * 16,  # 500 characters each
           "reason": ("Mohon lengkapi lokasi, waktu kejadian dan instansi yang dituju. " * 8)[:500]}
SHORT = [(channel, event, language) for channel in (Channel.SMS, Channel.X) for event in REPORTER_EVENTS
         for language in LANGUAGES]


def reply_on_x(text: str) -> str:
    return "@" + "h" * 15 + " " + text  # the longest handle X allows


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", REPORTER_EVENTS)
def test_every_sms_fits_in_three_segments_with_the_usual_values(event, language):
    text = TEMPLATES.render_short(Channel.SMS, event, language, USUAL)
    assert gsm7(text) and sms_room(text) >= 0 and len(text) <= SMS_SEPTETS
    assert TRACKING_ID in text and "{" not in text and "\n" not in text
    assert text == TEMPLATES.render_short(Channel.SMS, event, language, USUAL)  # the values are not shortened


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", REPORTER_EVENTS)
def test_every_reply_on_x_fits_in_280_characters_with_the_usual_values_and_links_the_report(event, language):
    text = TEMPLATES.render_short(Channel.X, event, language, USUAL)
    assert len(reply_on_x(text)) <= X_CHARACTERS and x_room(text) >= 0
    assert TRACKING_ID in text and "{" not in text
    if event != "duplicate":  # which points at the report it duplicates instead
        assert URL in text


@pytest.mark.parametrize("channel, event, language", SHORT)
def test_long_params_are_shortened_to_fit_and_the_tracking_id_and_link_stay_whole(channel, event, language):
    text = TEMPLATES.render_short(channel, event, language, LONGEST)
    if channel is Channel.SMS:
        assert 0 <= sms_room(text) and len(text) <= SMS_SEPTETS
    else:
        assert 0 <= x_room(text) and len(reply_on_x(text)) <= X_CHARACTERS
    usual = TEMPLATES.render_short(channel, event, language, USUAL)
    assert TRACKING_ID in text and (URL in text) == (URL in usual)
    assert text == usual or "..." in text  # the same, or with a long param shortened


def test_an_sms_with_a_character_outside_gsm7_fits_in_201_ucs2_characters():
    text = TEMPLATES.render_short(Channel.SMS, "archived", "id", {**LONGEST, "reason": "“ganda” " * 60})
    assert not gsm7(text) and len(text) <= SMS_UCS2 and "“ganda”" in text and TRACKING_ID in text


def test_the_received_sms_and_reply_on_x_carry_the_tracking_id_and_link():
    sms = TEMPLATES.render_short(Channel.SMS, "received", "id", USUAL)
    x = TEMPLATES.render_short(Channel.X, "received", "en", USUAL)
    assert TRACKING_ID in sms and URL in sms and URL in x


def test_a_reply_on_x_keeps_reasons_off_the_public_timeline():
    for event in ("needs_completion", "archived", "on_hold"):
        for language in LANGUAGES:
            assert USUAL["reason"] not in TEMPLATES.render_short(Channel.X, event, language, USUAL)


def test_a_missing_short_text_stops_loading_and_names_the_file(tmp_path):
    folder = copy_of_templates(tmp_path)
    (folder / "sms" / "received.en.txt").unlink()
    with pytest.raises(TemplateError, match="sms/received.en.txt"):
        Templates.load(folder)


@pytest.mark.parametrize("text, problem", [("Subject: x\nbody {tracking_id}\n", "no subject"), ("  \n", "empty"),
                                           ("body {0}\n", "placeholder")])
def test_a_malformed_short_text_stops_loading(tmp_path, text, problem):
    folder = copy_of_templates(tmp_path)
    (folder / "x" / "closed.id.txt").write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=problem) as e:
        Templates.load(folder)
    assert "x/closed.id.txt" in str(e.value)
