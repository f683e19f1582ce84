"""Every web page a visitor or agency staff can reach, crawled, shows nothing it must not.

tests/e2e/test_privacy_sweep.py asks a fixed list of public surfaces and agency answers (gRPC and the
REST API); a page added later and linked from anywhere is found here without this test knowing it. Its
three reports (anonymous, confidential, plain) go through the running system, then:

- a visitor follows every link from the home page, the public feed and its searches: no confidential
  report's tracking ID or words, no reporter's name, phone (any format) or e-mail, no unredacted
  personal data from a report's text;
- a liaison officer and an agency administrator of the agency that holds the reports, signed in, follow
  every link from /staf: they read the reports (the confidential one too), but never the anonymous
  reporter, nor any reporter's phone or e-mail, nor the confidential reporter's name;
- the e-mail staff get (new assignments to the agency's liaison officers) names no reporter either.
"""

import email
import email.policy
import urllib.parse
from collections import deque

import lxml.html
import pytest
import requests

from services.plumbing import db, identity
from services.plumbing.clock import FileClock
from services.portal.staff_accounts import NewStaffAccount
from services.portal.staff_service import StaffService
from tests.e2e.conftest import eventually
from tests.e2e.test_privacy_sweep import (ANONYMOUS, CONFIDENTIAL, CONFIDENTIAL_WORDS, PLAIN, REPORTS, SEARCHES,
                                          Answer, found, take_through)

pytestmark = pytest.mark.e2e

PASSWORD = "kata-sandi-penelusur-1708"
MAX_PAGES = 400
SKIPPED = ("/static/", "/staf/keluar", "/akun/keluar", "/metrics")


def crawl(portal: str, session: requests.Session, starts: list[str]) -> list[Answer]:
    """Every page reachable by following links on the portal from `starts` (GET only), as text."""
    seen, queue, answers = set(starts), deque(starts), []
    while queue and len(answers) < MAX_PAGES:
        path = queue.popleft()
        response = session.get(portal + path, timeout=30, allow_redirects=True)
        answers.append(Answer(f"{path} -> {response.url}", str(response.status_code),
                              f"{response.headers}\n\n{response.text}"))
        if "html" not in response.headers.get("Content-Type", "") or not response.text.strip():
            continue
        for href in lxml.html.fromstring(response.text).xpath("//a/@href"):
            link = urllib.parse.urlsplit(urllib.parse.urljoin(response.url, href))
            if link.netloc != urllib.parse.urlsplit(portal).netloc or link.path.startswith(SKIPPED):
                continue
            target = link.path + (f"?{link.query}" if link.query else "")
            if target not in seen:
                seen.add(target)
                queue.append(target)
    assert len(answers) < MAX_PAGES, "the crawl did not end: a page links to endless others?"
    assert len(answers) >= 30, f"only {len(answers)} pages: the crawl went nowhere"
    return answers


def readable(raw: str) -> str:
    """An e-mail's headers and its text as decoded (quoted-printable may break a number across lines)."""
    message = email.message_from_string(raw, policy=email.policy.default)
    return f"{raw}\n{message.get_body(('plain',)).get_content()}"


def signed_in(portal: str, username: str) -> requests.Session:
    person = requests.Session()
    page = lxml.html.fromstring(person.get(portal + "/staf/masuk", timeout=30).text)
    hidden = {i.get("name"): i.get("value") for i in page.xpath("//form[@action='/staf/masuk']//input[@type='hidden']")}
    answer = person.post(portal + "/staf/masuk", data={**hidden, "username": username, "password": PASSWORD},
                         timeout=30, allow_redirects=False)
    assert (answer.status_code, answer.headers.get("Location")) == (303, "/staf"), answer.text[:500]
    return person


@pytest.fixture(scope="module")
def reports(running):
    take_through(running)
    [agency] = {r.agency_id for r in REPORTS}
    pool = db.open_pool(running.system.env["DATABASE_URL"], name="test", size=2)
    try:
        staff = StaffService(pool=pool, clock=FileClock(running.clock.path))
        for username, role in (("penelusur-lo", identity.LIAISON_OFFICER), ("penelusur-adm", identity.AGENCY_ADMIN)):
            staff.create(None, NewStaffAccount(username=username, password=PASSWORD, role=role, agency_id=agency))
    finally:
        pool.close()
    return running


def test_no_public_page_shows_a_confidential_report_or_a_reporter(reports):
    portal = reports.portal
    starts = ["/", "/publik", "/?lang=en", "/publik?lang=en", *(f"/publik?q={q}" for q in SEARCHES)]
    pages = crawl(portal, requests.Session(), starts)
    texts = "\n".join(p.text for p in pages)
    for report in (ANONYMOUS, PLAIN):  # the crawl reaches the public reports, so it could find a leak
        assert report.tracking_id in texts and report.form["title"] in texts, report.key
    leaks = found(pages, [CONFIDENTIAL.tracking_id, *CONFIDENTIAL_WORDS, CONFIDENTIAL.form["title"]])
    assert not leaks, "a public page shows the confidential report:\n" + "\n".join(leaks)
    leaks = found(pages, [s for r in REPORTS for s in (*r.reporter, *r.hidden)])
    assert not leaks, "a public page shows private data:\n" + "\n".join(leaks)


@pytest.mark.parametrize("username", ["penelusur-lo", "penelusur-adm"])
def test_no_agency_page_shows_a_reporter(reports, username):
    pages = crawl(reports.portal, signed_in(reports.portal, username), ["/staf", "/staf/instansi",
                                                                         "/staf/pemberitahuan"])
    texts = "\n".join(p.text for p in pages)
    for report in REPORTS:  # the agency reads its reports, the confidential one too
        assert report.tracking_id in texts and report.follow_up[:20] in texts, report.key
    assert all(word in texts for word in CONFIDENTIAL_WORDS)
    private = [*ANONYMOUS.reporter, *CONFIDENTIAL.reporter,
               PLAIN.form["phone"], PLAIN.form["email"]]  # the plain reporter names themself in their text
    leaks = found(pages, private)
    assert not leaks, "an agency page shows a reporter:\n" + "\n".join(leaks)


def test_no_e_mail_to_staff_names_a_reporter(reports, mailbox):
    reporters = {r.form["email"] for r in REPORTS}
    to_staff = eventually(lambda: [Answer(f"e-mail to {', '.join(to)}", "sent", readable(raw)) for to, raw in
                                   list(mailbox.messages) if not set(to) & reporters
                                   and any(r.tracking_id in readable(raw) for r in REPORTS)], what="e-mail to staff")
    leaks = found(to_staff, [*ANONYMOUS.reporter, *CONFIDENTIAL.reporter, PLAIN.form["phone"], PLAIN.form["email"]])
    assert not leaks, "an e-mail to staff names a reporter:\n" + "\n".join(leaks)
