"""python -m services.sla: the lifecycle process on SpiffWorkflow, its timers and deadlines."""

from pathlib import Path

from services.plumbing import config, metrics, process
from services.plumbing.clock import Clock
from services.sla import grpc_api, repository
from services.sla.calendar import WorkingCalendar
from services.sla.calendar_service import CalendarRefresher, CalendarService
from services.sla.calendar_store import StoredOverrides
from services.sla.engine import Engine
from services.sla.operators import GrpcServiceCaller
from services.sla.service import SlaService
from services.sla.timers import TimerWorker

ROLES = ("all", "api", "timers")


def role() -> str:
    """SLA_ROLE: what this sla process does; the timer worker and the API can run in separate processes."""
    value = config.get("SLA_ROLE")
    if value not in ROLES:
        raise config.ConfigError(f"SLA_ROLE={value!r} is not one of {', '.join(ROLES)}")
    return value


def add_gauges(gauges: metrics.DatabaseGauges, clock: Clock) -> None:
    """sla's backlogs on /metrics, read when scraped."""
    gauges.add("sp4n_sla_timers_due", "process instances whose earliest timer or retry is due",
               lambda conn: repository.count_due_timers(conn, clock.now()))
    gauges.add("sp4n_sla_deadlines_breached", "deadlines that passed unmet, ever", repository.count_breached_deadlines)


def build(ctx: process.Context):
    chosen_role = role()  # a wrong SLA_ROLE stops the start before anything is deployed
    caller = GrpcServiceCaller({name: ctx.channel(name) for name in ("intake", "verification", "routing", "notify")})
    calendar = WorkingCalendar(StoredOverrides.from_pool(ctx.pool))
    engine = Engine(calendar=calendar, caller=caller, clock=ctx.clock)
    service = SlaService(pool=ctx.pool, engine=engine, clock=ctx.clock, process_id=config.get("SLA_PROCESS_ID"),
                         retry_base_seconds=config.get_float("SLA_RETRY_BASE_SECONDS"))
    service.deploy_folder(Path(config.get("SLA_BPMN_DIR")))
    timers = TimerWorker(service, poll_seconds=config.get_float("SLA_TIMER_POLL_SECONDS"))
    calendar_service = CalendarService(pool=ctx.pool, clock=ctx.clock, calendar=calendar)
    refresher = CalendarRefresher(calendar, poll_seconds=config.get_float("SLA_CALENDAR_REFRESH_SECONDS"))
    add_gauges(ctx.gauges, ctx.clock)
    servicers = [] if chosen_role == "timers" else [grpc_api.register(service, calendar_service)]
    workers = [refresher] if chosen_role == "api" else [timers, refresher]
    return servicers, workers


if __name__ == "__main__":
    process.run("sla", migrations=Path(__file__).with_name("migrations"), build=build)
