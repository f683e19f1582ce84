"""The directory's CSV files, read and written (their format: data/AGENCIES.md).

Reading turns a file into lines as written, with the problems that keep a line from being read at
all; what the lines mean is checked by directory_rules, over the whole directory at once."""

import csv
import io
from typing import Iterable

from services.routing.directory_rules import (AGENCIES_FILE, LIAISON_OFFICERS_FILE, AgencyRow, LiaisonRow,
                                              Problem)
from services.routing.domain import Agency, LiaisonOfficer

AGENCY_COLUMNS = ("id", "code", "name", "parent_id", "level", "region_code", "timezone", "active")
AGENCY_REQUIRED = ("id", "code", "name", "parent_id", "level")
LIAISON_COLUMNS = ("agency_id", "name", "position", "email", "phone")
LIAISON_REQUIRED = ("agency_id", "name")


def _records(data: bytes | str, file: str, columns: tuple[str, ...],
             required: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """(line, values by column) of every non-blank record, or the problems that stop the reading."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            return [], [Problem(file, 0, f"is not UTF-8 text (byte {e.start} cannot be read)")]
    data = data.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(data, newline=""))
    records, problems = [], []
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(header):
            return [], [Problem(file, 1, f"the first line must name the columns: {','.join(columns)}")]
        unknown = [name for name in header if name not in columns]
        missing = [name for name in required if name not in header]
        repeated = sorted({name for name in header if header.count(name) > 1})
        for what, names in [("unknown column", unknown), ("missing column", missing), ("repeated column", repeated)]:
            if names:
                problems.append(Problem(file, 1, f"{what}{'s' if len(names) > 1 else ''} {', '.join(names)}; the "
                                                 f"columns are {','.join(columns)} (required: {','.join(required)})"))
        if problems:
            return [], problems
        while True:
            line = reader.line_num + 1
            values = next(reader, None)
            if values is None:
                break
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                hint = " (a quote left open?)" if any("\n" in v for v in values) else ""
                problems.append(Problem(file, line, f"expected {len(header)} fields, found {len(values)}{hint}"))
                continue
            record = dict.fromkeys(columns, "") | {name: v.strip() for name, v in zip(header, values)}
            records.append((line, record))
    except csv.Error as e:
        problems.append(Problem(file, reader.line_num, f"cannot be read as CSV: {e}"))
    return records, problems


def read_agencies(data: bytes | str) -> tuple[list[AgencyRow], list[Problem]]:
    """The lines of an agencies file, one agency each."""
    records, problems = _records(data, AGENCIES_FILE, AGENCY_COLUMNS, AGENCY_REQUIRED)
    return [AgencyRow(line, **values) for line, values in records], problems


def read_liaison_officers(data: bytes | str) -> tuple[list[LiaisonRow], list[Problem]]:
    """The lines of a liaison officers file, one contact each."""
    records, problems = _records(data, LIAISON_OFFICERS_FILE, LIAISON_COLUMNS, LIAISON_REQUIRED)
    return [LiaisonRow(line, **values) for line, values in records], problems


def _write(columns: tuple[str, ...], rows: Iterable[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def write_agencies(agencies: Iterable[Agency]) -> str:
    """An agencies file, every column filled in, in the order given."""
    return _write(AGENCY_COLUMNS, ((a.id, a.code, a.name, a.parent_id, a.level, a.region_code, a.timezone,
                                    "true" if a.active else "false") for a in agencies))


def write_liaison_officers(officers: Iterable[LiaisonOfficer]) -> str:
    return _write(LIAISON_COLUMNS, ((o.agency_id, o.name, o.position, o.email, o.phone) for o in officers))
