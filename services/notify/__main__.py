"""python -m services.notify: notifications in-app, by e-mail, SMS and X, with their delivery worker."""

from pathlib import Path

from services.notify import grpc_api, repository
from services.notify.contacts import IntakeContacts
from services.notify.delivery import DeliveryWorker
from services.notify.senders import EmailSender, Sender, SmsSender, SmtpMailer, XSender
from services.notify.service import NotifyService
from services.notify.templates import Templates
from services.plumbing import config, metrics, process
from services.plumbing.clock import Clock
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc


def senders(clock: Clock) -> list[Sender]:
    """A sender for each delivery channel that is configured. Without one, nothing is queued for that
    channel; anything queued before waits until it is configured again."""
    found: list[Sender] = []
    timeout = config.get_float("NOTIFY_SEND_TIMEOUT_SECONDS")
    if smtp_host := config.get("NOTIFY_SMTP_HOST"):
        mailer = SmtpMailer(host=smtp_host, port=config.get_int("NOTIFY_SMTP_PORT"),
                            user=config.get("NOTIFY_SMTP_USER"), password=config.get("NOTIFY_SMTP_PASSWORD"),
                            starttls=config.get("NOTIFY_SMTP_STARTTLS") == "1", timeout=timeout)
        found.append(EmailSender(mailer=mailer, mail_from=config.get("NOTIFY_MAIL_FROM"), clock=clock))
    if gateway := config.get("NOTIFY_SMS_GATEWAY_URL"):
        found.append(SmsSender(url=gateway, user=config.get("NOTIFY_SMS_USER"), timeout=timeout,
                               password=config.get("NOTIFY_SMS_PASSWORD"), sender=config.get("NOTIFY_SMS_FROM")))
    if x_api := config.get("NOTIFY_X_API_URL"):
        found.append(XSender(api_url=x_api, bearer_token=config.get("NOTIFY_X_BEARER_TOKEN"), timeout=timeout))
    return found


def add_gauges(gauges: metrics.DatabaseGauges) -> None:
    """notify's outbox on /metrics, read when scraped."""
    gauges.add("sp4n_notify_notifications", "notifications not delivered: pending, sending, failed (dead letters)",
               repository.count_outstanding, label="status")


def build(ctx: process.Context):
    templates = Templates.load()  # a missing or broken template stops the start
    contacts = IntakeContacts(intake_pb2_grpc.IntakeServiceStub(ctx.channel("intake")),
                              directory=routing_pb2_grpc.RoutingServiceStub(ctx.channel("routing")))
    configured = senders(ctx.clock)
    service = NotifyService(pool=ctx.pool, clock=ctx.clock, templates=templates, contacts=contacts,
                            channels=frozenset(s.channel for s in configured),
                            public_url=config.get("SP4N_PUBLIC_URL"))
    add_gauges(ctx.gauges)
    workers = []
    if configured:
        workers.append(DeliveryWorker(pool=ctx.pool, clock=ctx.clock, contacts=contacts, senders=configured,
                                      poll_seconds=config.get_float("NOTIFY_POLL_SECONDS"),
                                      concurrency=config.get_int("NOTIFY_CONCURRENCY"),
                                      retry_base_seconds=config.get_float("NOTIFY_RETRY_BASE_SECONDS"),
                                      max_attempts=config.get_int("NOTIFY_MAX_ATTEMPTS")))
    return [grpc_api.register(service)], workers


if __name__ == "__main__":
    process.run("notify", migrations=Path(__file__).with_name("migrations"), build=build)
