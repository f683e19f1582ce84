"""The portal's HTTP server: waitress in a thread, started and stopped like any background worker."""

import logging
import threading
import time

import waitress
from waitress import wasyncore

from services.plumbing import metrics

log = logging.getLogger(__name__)

QUEUE_LOG_SECONDS = 60.0


class QueueWarnings(logging.Filter):
    """waitress warns "Task queue depth is N" for every request that finds no idle worker thread: under
    load, a line a request, which costs the portal CPU and buries every other line. Each one is counted
    in sp4n_http_requests_queued_total; at most one line every `seconds` is kept, saying how many
    requests waited since the last line and the deepest the queue was."""

    def __init__(self, seconds: float = QUEUE_LOG_SECONDS, now=time.monotonic):
        super().__init__()
        self.seconds = seconds
        self.now = now
        self._lock = threading.Lock()
        self._last: float | None = None
        self._waited = 0
        self._deepest = 0

    def filter(self, record: logging.LogRecord) -> bool:
        metrics.HTTP_QUEUED.inc()
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else 0
        with self._lock:
            self._waited += 1
            self._deepest = max(self._deepest, depth if isinstance(depth, int) else 0)
            now = self.now()
            if self._last is not None and now - self._last < self.seconds:
                return False
            record.msg = ("HTTP requests that waited for a free worker thread since the last such line: %d; "
                          "the deepest the queue was: %d")
            record.args = (self._waited, self._deepest)
            self._last, self._waited, self._deepest = now, 0, 0
            return True


def quiet_queue_warnings(seconds: float = QUEUE_LOG_SECONDS) -> None:
    """Puts one QueueWarnings on waitress's queue logger (once per process, however many servers)."""
    queue_logger = logging.getLogger("waitress.queue")
    if not any(isinstance(f, QueueWarnings) for f in queue_logger.filters):
        queue_logger.addFilter(QueueWarnings(seconds))


# No request body the portal takes is near this (the largest, a REST API report with five 5 MiB
# attachments in base64, is under 34 MiB; each surface refuses its own oversize first, naming its
# limit): waitress closes anything larger before it is buffered.
MAX_BODY_BYTES = 64 * 1024 * 1024


class HttpServer:
    """Serves a WSGI app on host:port (port 0: any free port, see `port`) once started."""

    def __init__(self, app, *, host: str, port: int, threads: int = 8, grace: float = 5.0):
        self._map: dict = {}
        quiet_queue_warnings()
        # Binds at once, so that a port already taken stops the process at start-up.
        self._server = waitress.create_server(app, map=self._map, host=host, port=port, threads=threads,
                                              ident="sp4n-portal", clear_untrusted_proxy_headers=True,
                                              max_request_body_size=MAX_BODY_BYTES)
        self.host = host
        self.port = self._server.effective_port
        self.grace = grace
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name="portal-http", daemon=True)
        self._thread.start()
        log.info("portal serving HTTP on %s", self.url)

    def stop(self) -> None:
        """Lets requests being handled finish (up to the grace period), then closes every socket."""
        self._server.task_dispatcher.shutdown(timeout=self.grace)
        # Sockets belong to the server's loop thread: close them there. Waitress's wake-up pipe is sometimes
        # gone by then (Pylons/waitress#468, EBADF): the loop cannot be asked, so close them from here.
        try:
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
        except OSError as e:
            log.warning("could not wake the portal's HTTP loop (%s); closing its sockets from here", e)
            wasyncore.close_all(self._map, ignore_all=True)
        if self._thread is not None:
            self._thread.join(self.grace)
