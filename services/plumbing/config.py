"""Configuration: every environment variable the system reads, listed in one place.

A service asks for a setting by name; a name missing from SETTINGS is a programming
error, and a required setting that is unset stops the process at start-up.
"""

import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """A required setting is missing or a value cannot be used."""


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    default: str | None = None  # None: required

    @property
    def required(self) -> bool:
        return self.default is None


def _port(service: str, port: int) -> Setting:
    return Setting(f"{service.upper()}_PORT", f"gRPC port `{service}` listens on", str(port))


def _metrics_port(service: str, port: int) -> Setting:
    return Setting(f"{service.upper()}_METRICS_PORT",
                   f"HTTP port of `{service}`'s Prometheus /metrics; `0`: no metrics endpoint", str(port))


def _addr(service: str, port: int) -> Setting:
    return Setting(f"{service.upper()}_SERVICE_ADDR", f"where other services reach `{service}` (host:port)",
                   f"127.0.0.1:{port}")


_PORTS = {"intake": 50051, "verification": 50052, "routing": 50053, "sla": 50054, "notify": 50055,
          "portal": 50056}
# Metrics beside gRPC, one thousand ports up: a service's two ports are easy to tell apart and to pair.
_METRICS_PORTS = {service: port + 1000 for service, port in _PORTS.items()}

SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", "PostgreSQL connection URI; each service keeps its own schema in this database"),
    Setting("SP4N_IDENTITY_KEY", "shared secret (32+ characters) that signs caller identities between services"),
    Setting("SP4N_CLOCK", "`system`, or `file:PATH` for a controllable clock shared through a file "
                          "(tests and demos; see `python -m services.plumbing.clock`)", "system"),
    Setting("SP4N_LOG_LEVEL", "log level (DEBUG, INFO, WARNING, ERROR)", "INFO"),
    Setting("SP4N_DB_POOL_SIZE", "PostgreSQL connections per service process", "8"),
    Setting("SP4N_GRPC_THREADS", "threads serving gRPC requests per service process", "16"),
    Setting("SP4N_GRACE_SECONDS", "how long a stopping service lets calls in flight finish", "10"),
    Setting("SP4N_OUTBOX_POLL_SECONDS", "how often an outbox relay looks for events when not woken", "1.0"),
    Setting("SP4N_OUTBOX_CONCURRENCY", "reports whose events an outbox relay hands over at once (each report's "
                                       "in order)", "4"),
    Setting("SP4N_DEMO_DATA", "`1` loads demo data (agencies, routing rules) at start", "0"),
    Setting("SP4N_PUBLIC_URL", "the portal's address as reporters reach it, for links in messages and replies",
            "http://127.0.0.1:8080"),
    Setting("SP4N_GRPC_MAX_MESSAGE_BYTES", "largest gRPC message a service sends or takes (reports carry their "
                                           "attachments)", str(32 * 1024 * 1024)),
    *(_port(s, p) for s, p in _PORTS.items()),
    *(_addr(s, p) for s, p in _PORTS.items() if s != "portal"),
    *(_metrics_port(s, p) for s, p in _METRICS_PORTS.items()),
    Setting("SP4N_METRICS_HOST", "address the /metrics endpoints bind (`0.0.0.0` where a Prometheus on another "
                                 "host scrapes them; they are for the operators' network, never the public one)",
            "127.0.0.1"),
    Setting("PORTAL_HTTP_PORT", "HTTP port of the portal's web pages", "8080"),
    Setting("PORTAL_HTTP_HOST", "address the portal's web server binds", "127.0.0.1"),
    Setting("PORTAL_OPEN311_API_KEYS", "comma-separated API keys that may post service requests through Open311 "
                                       "(/open311/v2/); empty: none may", ""),
    Setting("PORTAL_SMS_WEBHOOK_SECRET", "shared secret the SMS gateway (Kannel smsbox) sends with each incoming "
                                         "message to /webhooks/sms; empty: the webhook refuses every message", ""),
    Setting("PORTAL_X_CONSUMER_SECRET", "X app consumer secret: answers the CRC challenge and verifies webhook "
                                        "signatures on /webhooks/x; empty: the webhook refuses every event", ""),
    Setting("PORTAL_X_ACCOUNT", "the X account whose mentions become reports (without @)", "lapor1708"),
    Setting("SLA_BPMN_DIR", "folder of BPMN models deployed at start (the newest version serves new reports)",
            "bpmn"),
    Setting("SLA_PROCESS_ID", "id of the lifecycle process in the BPMN models", "report_lifecycle"),
    Setting("SLA_TIMER_POLL_SECONDS", "how often the timer worker looks for due instances", "1.0"),
    Setting("SLA_CALENDAR_REFRESH_SECONDS", "how soon a calendar override by decree reaches the deadlines", "2"),
    Setting("SLA_RETRY_BASE_SECONDS", "first back-off after a failed service task (doubles per attempt)", "2"),
    Setting("SLA_ROLE", "`all`: the gRPC API and the timer worker; `api`: the API without the timer worker; "
                        "`timers`: only the timer worker (its gRPC server answers health checks only), so timers "
                        "run in their own deployment", "all"),
    Setting("NOTIFY_SMTP_HOST", "SMTP server for e-mail; empty: e-mail is not sent, only in-app", ""),
    Setting("NOTIFY_SMTP_PORT", "SMTP port", "25"),
    Setting("NOTIFY_MAIL_FROM", "sender address of e-mail notifications", "noreply@sp4n.example"),
    Setting("NOTIFY_SMTP_USER", "SMTP login; empty: no login", ""),
    Setting("NOTIFY_SMTP_PASSWORD", "SMTP password (with NOTIFY_SMTP_USER)", ""),
    Setting("NOTIFY_SMTP_STARTTLS", "`1` upgrades the SMTP connection with STARTTLS before sending", "0"),
    Setting("NOTIFY_POLL_SECONDS", "how often the delivery worker looks for messages to send", "1.0"),
    Setting("NOTIFY_RETRY_BASE_SECONDS", "first back-off after a failed delivery (doubles per attempt)", "30"),
    Setting("NOTIFY_MAX_ATTEMPTS", "delivery attempts before a notification becomes a dead letter (failed)", "8"),
    Setting("NOTIFY_CONCURRENCY", "messages handed over at once on each channel (e-mail, SMS, X)", "4"),
    Setting("NOTIFY_SEND_TIMEOUT_SECONDS", "how long an SMTP conversation or a gateway request may take before "
                                           "the attempt counts as failed", "15"),
    Setting("NOTIFY_SMS_GATEWAY_URL", "Kannel smsbox sendsms URL (e.g. http://127.0.0.1:13013/cgi-bin/sendsms); "
                                      "empty: SMS is not sent", ""),
    Setting("NOTIFY_SMS_USER", "sendsms-user name at the SMS gateway", ""),
    Setting("NOTIFY_SMS_PASSWORD", "sendsms-user password at the SMS gateway", ""),
    Setting("NOTIFY_SMS_FROM", "sender number of outgoing SMS", "1708"),
    Setting("NOTIFY_X_API_URL", "base URL of the X API v2 for replies (e.g. https://api.x.com); empty: no X "
                                "replies", ""),
    Setting("NOTIFY_X_BEARER_TOKEN", "user-context token of the reporting account for posting replies on X", ""),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The value of a setting from the environment, or its default."""
    setting = _BY_NAME[name]  # KeyError: a setting that is not declared above
    value = os.environ.get(name)
    if value is None or value == "":
        if setting.required:
            raise ConfigError(f"{name} is not set: {setting.help}")
        return setting.default  # type: ignore[return-value]
    return value


def get_int(name: str) -> int:
    value = get(name)
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None


def get_float(name: str) -> float:
    value = get(name)
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None


def markdown_table() -> str:
    """The settings as the README's table."""
    rows = ["| variable | default | what |", "|---|---|---|"]
    for s in SETTINGS:
        default = "(required)" if s.required else (f"`{s.default}`" if s.default else "(empty)")
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
