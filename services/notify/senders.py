"""How a notification is handed over on each delivery channel: e-mail to an SMTP server, SMS to the
SMS gateway (Kannel smsbox's sendsms HTTP API), a reply on X through the X API v2.

A sender works in two steps, so that the delivery worker can record the attempt in between:
`prepare` builds the message from the notification and the reporter's contact of the moment
(Undeliverable when the contact gives no way to reach them: nothing is sent), and `send` hands it
over. `send` raises Refused when the other end will never take it, OutcomeUnknown when it may have
taken it (the request went out but no answer came back), and any other error when it did not take it,
so that trying again is safe.
"""

import email.header
import email.quoprimime
import email.utils
import http.client
import json
import logging
import re
import smtplib
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from services.notify.domain import Channel, Notification, ReporterContact, StaffContact, gsm7
from services.plumbing.clock import Clock

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_TWEET_ID = re.compile(r"^[0-9]{1,20}$")
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
MAX_ANSWER = 300  # characters of another end's answer kept in last_error
MAX_LINE = 78  # characters of a line of e-mail, as RFC 5322 would have them


class Undeliverable(Exception):
    """The reporter's contact gives no way to deliver the notification; nothing was sent."""


class Refused(Exception):
    """The other end answered that it will never take this message: trying again cannot help."""


class OutcomeUnknown(Exception):
    """The message went out but no answer came back: it may have been taken, so it is not sent again."""


class Sender(Protocol):
    channel: Channel

    def prepare(self, notification: Notification, contact: ReporterContact):
        """The message to send; Undeliverable when the contact cannot be used."""

    def send(self, message) -> None:
        """Hands the prepared message over; see the module docstring for what it raises."""

    def close(self) -> None:
        """Ends what the sender keeps open between messages (nothing, unless it says otherwise)."""


# E-mail.

@dataclass(frozen=True)
class Mail:
    """An e-mail as it goes over SMTP: the envelope and the message's bytes, built once when prepared."""
    mail_from: str
    to: tuple[str, ...]
    data: bytes

    @property
    def international(self) -> bool:
        """An address beyond ASCII needs the server's SMTPUTF8 (RFC 6531)."""
        return not all(address.isascii() for address in (self.mail_from, *self.to))


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hands one message to the mail system; raises when it was not accepted."""

    def close(self) -> None:
        """Ends the mail system's connections."""


class _Connection(smtplib.SMTP):
    """An SMTP connection that knows whether any of the current message went over it: until the DATA
    command, a lost connection has taken nothing of it."""

    data_sent = False

    def __init__(self, *args, **kwargs):
        self.in_use = threading.Lock()  # held while a message is sent over it
        super().__init__(*args, **kwargs)

    def data(self, msg):
        self.data_sent = True
        return super().data(msg)

    def lost_before_data(self) -> bool:
        """The connection was closed (by the server, or by smtplib on a 421 or a failed read or write)
        before DATA: the server cannot have taken the message, so it may be sent on a new connection."""
        return self.sock is None and not self.data_sent


class SmtpMailer:
    """Sends through an SMTP server over one connection per sending thread, kept open between messages:
    a connection costs a TCP handshake, a greeting and EHLO (STARTTLS and a login too, where configured),
    more than the message itself. A server closes idle connections when it likes; a connection found
    lost before any of the message went over it is replaced once, and the message sent over the new one.
    Lost later (after DATA), the error goes to the delivery worker as before (retried with back-off;
    the server may only have taken it if the connection dropped after the final "."), and the
    connection is replaced for the next message."""

    def __init__(self, *, host: str, port: int, timeout: float = 30.0, user: str = "", password: str = "",
                 starttls: bool = False):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.user = user
        self.password = password
        self.starttls = starttls
        self._local = threading.local()  # the calling thread's connection
        self._open: set[_Connection] = set()  # every thread's, to close them all on close()
        self._lock = threading.Lock()

    def send(self, mail: Mail) -> None:
        connection, reused = self._connection()
        try:
            self._hand_over(connection, mail)
        except Exception:
            lost_before_data = reused and connection.lost_before_data()
            self._forget(connection)
            if lost_before_data:
                log.info("the mail server had closed the connection; sending over a new one")
                return self.send(mail)  # a new connection: not reused, so never more than once
            raise
        with self._lock:
            closed_meanwhile = connection not in self._open
        if closed_meanwhile:  # close() left it to this thread
            self._local.connection = None
            _quit(connection)

    @staticmethod
    def _hand_over(connection: _Connection, mail: Mail) -> None:
        with connection.in_use:
            connection.data_sent = False
            connection.sendmail(mail.mail_from, list(mail.to), mail.data,
                                mail_options=["SMTPUTF8"] if mail.international else [])

    def _connection(self) -> tuple[_Connection, bool]:
        """The calling thread's open connection, or a new one; whether it was open before."""
        if (connection := getattr(self._local, "connection", None)) is not None:
            return connection, True
        connection = _Connection(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                connection.starttls()
            if self.user:
                connection.login(self.user, self.password)
        except Exception:
            connection.close()
            raise
        self._local.connection = connection
        with self._lock:
            self._open.add(connection)
        return connection, False

    def _forget(self, connection: _Connection) -> None:
        """Closes a connection after an error: the next message starts on a new one, in a known state."""
        self._local.connection = None
        with self._lock:
            self._open.discard(connection)
        connection.close()

    def close(self) -> None:
        """Says goodbye (QUIT) on every thread's idle connection. One still sending is left to its
        thread, which says goodbye after the message: a QUIT from here could land in the middle of it. A
        thread that sends again later finds its connection closed and opens a new one."""
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            if connection.in_use.acquire(blocking=False):
                try:
                    _quit(connection)
                finally:
                    connection.in_use.release()


def _quit(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


def refused_for_good(error: Exception) -> bool:
    """The server refused every recipient with a permanent (5xx) reply: trying again cannot help."""
    return isinstance(error, smtplib.SMTPRecipientsRefused) and bool(error.recipients) and all(
        code >= 500 for code, _ in error.recipients.values())


def message_id(notification: Notification, mail_from: str) -> str:
    domain = mail_from.rpartition("@")[2].strip(" >") or "sp4n.invalid"
    return f"<sp4n-notify-{notification.id}.{int(notification.created_at.timestamp())}@{domain}>"


def text_message(headers: dict[str, str], body: str) -> bytes:
    """A text/plain message in UTF-8, written directly: the email package's message objects and their
    header registry cost milliseconds per message, this some microseconds. The header values must be
    single lines (they are: addresses checked, subjects made one line by the templates, ids of ours).
    The body goes as 7bit when it is ASCII in short lines, else quoted-printable, so that any server
    can carry it; its line breaks are CR, LF or CRLF, as the email package takes them."""
    lines = body.encode().splitlines()
    if body.isascii() and all(len(line) <= MAX_LINE for line in lines):
        encoding, payload = "7bit", b"".join(line + b"\r\n" for line in lines)
    else:
        encoding = "quoted-printable"
        text = b"\n".join(lines).decode("latin-1") + "\n"
        payload = email.quoprimime.body_encode(text, MAX_LINE - 2, eol="\r\n").encode()
    head = [f"{name}: {value}" for name, value in headers.items()]
    head += ["MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"', f"Content-Transfer-Encoding: {encoding}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def header_text(name: str, value: str) -> str:
    """A header's value as written: as it is when it is plain ASCII that fits a line, else folded and
    encoded (RFC 2047), also when it holds what a mail client would decode ("=?...?=")."""
    plain = value.isascii() and "=?" not in value
    if plain and len(name) + 2 + len(value) <= MAX_LINE:
        return value
    charset = "us-ascii" if plain else "utf-8"
    return email.header.Header(value, charset, header_name=name).encode(linesep="\r\n")


class EmailSender:
    """E-mail through a Mailer. Every attempt carries the same Message-ID, derived from the
    notification, so mail clients that de-duplicate on it show one message. smtplib raising means the
    server did not take the message (a connection lost after the final "." of DATA is the one case
    that may still repeat)."""

    channel = Channel.EMAIL

    def __init__(self, *, mailer: Mailer, mail_from: str, clock: Clock):
        self.mailer = mailer
        self.mail_from = mail_from
        self.clock = clock

    def prepare(self, notification: Notification, contact: ReporterContact | StaffContact) -> Mail:
        if isinstance(contact, StaffContact):  # an agency's liaison officers, all in one message
            usable = [address for address in contact.emails if _ADDRESS.match(address)]
            if not usable:
                raise Undeliverable("the agency directory lists no usable e-mail address of a liaison officer")
            return self.message(notification, usable)
        if not contact.email:
            raise Undeliverable("the reporter has no e-mail address any more")
        if not _ADDRESS.match(contact.email):
            raise Undeliverable("intake gave an e-mail address that cannot be used")
        return self.message(notification, [contact.email])

    def message(self, notification: Notification, to: list[str]) -> Mail:
        headers = {"From": self.mail_from, "To": ",\r\n ".join(to),
                   "Subject": header_text("Subject", notification.subject),
                   "Date": email.utils.format_datetime(self.clock.now()),
                   "Message-ID": message_id(notification, self.mail_from),
                   "Auto-Submitted": "auto-generated",  # RFC 3834: no auto-replies to a notification
                   "X-SP4N-Tracking-ID": notification.tracking_id,
                   "Content-Language": notification.language}
        return Mail(self.mail_from, tuple(to), text_message(headers, notification.body))

    def send(self, mail: Mail) -> None:
        try:
            self.mailer.send(mail)
        except Exception as e:
            if refused_for_good(e):
                raise Refused(f"the mail server refused the address: {type(e).__name__}: {e}") from None
            raise

    def close(self) -> None:
        self.mailer.close()


# SMS and X, over HTTP.

@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str


def call(request: urllib.request.Request, timeout: float) -> HttpAnswer:
    """The other end's answer, whatever its status. An error while connecting or sending the request
    is raised as it is (the request did not get there whole: not taken); one while waiting for or
    reading the answer is OutcomeUnknown."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpAnswer(response.status, _text(response.read(4096)))
    except urllib.error.HTTPError as e:  # an answer: 4xx or 5xx
        with e:
            return HttpAnswer(e.code, _text(e.read(4096)))
    except urllib.error.URLError as e:  # urllib raises this only before the request was sent whole
        raise ConnectionError(f"{type(e.reason).__name__}: {e.reason}") from None
    except (OSError, http.client.HTTPException) as e:
        raise OutcomeUnknown(f"the request went out but no answer came back, outcome unknown; not sent again: "
                             f"{type(e).__name__}: {e}") from None


def _text(body: bytes) -> str:
    return " ".join(body.decode("utf-8", "replace").split())[:MAX_ANSWER]


class NotAccepted(Exception):
    """The other end answered, but did not take the message; trying again may work."""


class SmsSender(Sender):
    """SMS through Kannel smsbox's sendsms HTTP API (GET with username, password, from, to, text).
    HTTP 202 ("0: Accepted for delivery", or "3: Queued for later delivery" while the SMS centre
    is away) means smsbox has it; any other answer is tried again. Text that GSM-7 cannot carry goes as
    UCS-2 (coding=2). Messages longer than one SMS are split by smsbox: its sendsms-user needs
    `max-messages = 3` and `concatenation = true`."""

    channel = Channel.SMS

    def __init__(self, *, url: str, user: str, password: str, sender: str, timeout: float = 30.0):
        self.url = url
        self.user = user
        self.password = password
        self.sender = sender
        self.timeout = timeout

    def prepare(self, notification: Notification, contact: ReporterContact) -> urllib.request.Request:
        if not contact.phone:
            raise Undeliverable("the reporter has no phone number any more")
        if not _PHONE.match(contact.phone):
            raise Undeliverable("intake gave a phone number that cannot be used")
        to = "+" + contact.phone.lstrip("+")  # intake keeps E.164 without the "+"; the gateway is told it is one
        query = {"username": self.user, "password": self.password, "from": self.sender, "to": to,
                 "text": notification.body.strip(), "charset": "UTF-8"}
        if not gsm7(query["text"]):
            query["coding"] = "2"
        separator = "&" if "?" in self.url else "?"
        return urllib.request.Request(self.url + separator + urllib.parse.urlencode(query), method="GET")

    def send(self, request: urllib.request.Request) -> None:
        # Never put the URL in an error: it carries the gateway password and the reporter's number.
        answer = call(request, self.timeout)
        # Only a 2xx answer is smsbox taking the message (202 "0: Accepted" or "3: Queued"); a proxy's 5xx
        # page must not count as sent whatever its text says.
        if not 200 <= answer.status < 300:
            raise NotAccepted(f"the SMS gateway answered HTTP {answer.status}: {answer.body}")


class XSender(Sender):
    """A reply to the reporter's tweet through the X API v2 (POST /2/tweets, answered 201 Created),
    starting with their @handle. Any other answer (rate limits, X unavailable) is tried again."""

    channel = Channel.X

    def __init__(self, *, api_url: str, bearer_token: str, timeout: float = 30.0):
        self.url = api_url.rstrip("/") + "/2/tweets"
        self.bearer_token = bearer_token
        self.timeout = timeout

    def prepare(self, notification: Notification, contact: ReporterContact) -> urllib.request.Request:
        if not _TWEET_ID.match(contact.channel_message_id):
            raise Undeliverable("intake gave no tweet to reply to")
        text = notification.body.strip()
        if _HANDLE.match(contact.x_handle):
            text = f"@{contact.x_handle} {text}"
        body = json.dumps({"text": text, "reply": {"in_reply_to_tweet_id": contact.channel_message_id}})
        return urllib.request.Request(self.url, data=body.encode(), method="POST", headers={
            "Authorization": f"Bearer {self.bearer_token}", "Content-Type": "application/json"})

    def send(self, request: urllib.request.Request) -> None:
        answer = call(request, self.timeout)
        if answer.status != 201:
            raise NotAccepted(f"X answered HTTP {answer.status}: {answer.body}")
