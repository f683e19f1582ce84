"""python -m services.notify: notifications in-app and by e-mail, with their delivery worker."""

from pathlib import Path

from services.notify import grpc_api
from services.notify.contacts import IntakeContacts
from services.notify.delivery import DeliveryWorker, SmtpMailer
from services.notify.service import NotifyService
from services.notify.templates import Templates
from services.plumbing import config, process
from sp4n.intake.v1 import intake_pb2_grpc


def build(ctx: process.Context):
    templates = Templates.load()  # a missing or broken template stops the start
    contacts = IntakeContacts(intake_pb2_grpc.IntakeServiceStub(ctx.channel("intake")))
    smtp_host = config.get("NOTIFY_SMTP_HOST")
    service = NotifyService(pool=ctx.pool, clock=ctx.clock, templates=templates, contacts=contacts,
                            email_enabled=bool(smtp_host))
    workers = []
    if smtp_host:  # without it no e-mail is queued; any queued before wait until it is set again
        mailer = SmtpMailer(host=smtp_host, port=config.get_int("NOTIFY_SMTP_PORT"),
                            user=config.get("NOTIFY_SMTP_USER"), password=config.get("NOTIFY_SMTP_PASSWORD"),
                            starttls=config.get("NOTIFY_SMTP_STARTTLS") == "1")
        workers.append(DeliveryWorker(pool=ctx.pool, clock=ctx.clock, contacts=contacts, mailer=mailer,
                                      mail_from=config.get("NOTIFY_MAIL_FROM"),
                                      poll_seconds=config.get_float("NOTIFY_POLL_SECONDS"),
                                      retry_base_seconds=config.get_float("NOTIFY_RETRY_BASE_SECONDS"),
                                      max_attempts=config.get_int("NOTIFY_MAX_ATTEMPTS")))
    return [grpc_api.register(service)], workers


if __name__ == "__main__":
    process.run("notify", migrations=Path(__file__).with_name("migrations"), build=build)
