"""The system's clock: real time, or a controllable clock for tests and demos.

`SP4N_CLOCK=file:PATH` makes every process that reads PATH share one clock that runs
at real speed from an offset kept in the file. Move it with:

    python -m services.plumbing.clock PATH show
    python -m services.plumbing.clock PATH advance 11d     # also 36h, 90m, 30s
    python -m services.plumbing.clock PATH set 2026-12-01T09:00:00+07:00
    python -m services.plumbing.clock PATH reset

Time only moves forward in production; a controllable clock is off unless configured.
"""

import json
import os
import re
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path


class Clock:
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        raise NotImplementedError


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FileClock(Clock):
    """Real time plus an offset read from a file that any process may change."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._offset = timedelta()

    def offset(self) -> timedelta:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return timedelta()
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            data = json.loads(self.path.read_text() or "{}")
            self._offset = timedelta(seconds=float(data.get("offset_seconds", 0)))
            self._stamp = stamp
        return self._offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset()

    def set_offset(self, offset: timedelta) -> None:
        # Write then rename, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".clock-")
        with os.fdopen(fd, "w") as f:
            json.dump({"offset_seconds": offset.total_seconds()}, f)
        os.replace(tmp, self.path)

    def advance(self, by: timedelta) -> datetime:
        self.set_offset(self.offset() + by)
        return self.now()

    def set(self, to: datetime) -> datetime:
        self.set_offset(to - datetime.now(timezone.utc))
        return self.now()


def from_setting(value: str) -> Clock:
    if value in ("", "system"):
        return SystemClock()
    if value.startswith("file:"):
        return FileClock(value[len("file:"):])
    raise ValueError(f"SP4N_CLOCK must be 'system' or 'file:PATH', not {value!r}")


_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_span(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([dhms])", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a span like 11d, 36h, 90m or 30s")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("show", "advance", "set", "reset"):
        print(__doc__, file=sys.stderr)
        return 2
    clock = FileClock(argv[0])
    command = argv[1]
    if command == "advance":
        clock.advance(parse_span(argv[2]))
    elif command == "set":
        to = datetime.fromisoformat(argv[2])
        if to.tzinfo is None:
            print("give the time with its offset, e.g. 2026-12-01T09:00:00+07:00", file=sys.stderr)
            return 2
        clock.set(to)
    elif command == "reset":
        clock.set_offset(timedelta())
    print(clock.now().isoformat())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
