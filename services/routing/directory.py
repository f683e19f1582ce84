"""The agency directory from the command line: import it from CSV, export it to CSV.

    python -m services.routing.directory import AGENCIES.csv [--liaison-officers FILE] [--dry-run]
    python -m services.routing.directory export [AGENCIES.csv] [--liaison-officers FILE]

Import makes the directory what the file says, or refuses the file whole, changes nothing and names
every bad line; --dry-run checks and tells what would change. Export writes files that import again
without a change (the agencies to stdout unless a file is named). The format: data/AGENCIES.md.

The commands read DATABASE_URL, apply routing's migrations and sync the reference list of regions
first, as the service does at start."""

import argparse
import getpass
import sys
from pathlib import Path

from services.plumbing import config, db
from services.plumbing.clock import SystemClock
from services.routing.directory_rules import AGENCIES_FILE, LIAISON_OFFICERS_FILE, DirectoryRejected
from services.routing.directory_service import ImportSummary
from services.routing.regions import RegionListError
from services.routing.service import RoutingService

MIGRATIONS = Path(__file__).with_name("migrations")


def _ids(label: str, ids: tuple[str, ...]) -> str:
    return f"{label}: {len(ids)}" + (f" ({', '.join(ids)})" if ids and len(ids) <= 30 else "")


def describe(summary: ImportSummary) -> str:
    """What an import changed, for people."""
    lines = [("dry run, nothing changed; the import would make these changes" if summary.dry_run
              else f"imported (import {summary.import_id})" if summary.import_id else "nothing to change"),
             _ids("agencies added", summary.added), _ids("changed", summary.changed),
             f"unchanged: {summary.unchanged}",
             _ids("deactivated (no longer listed; assignments or rules name them)", summary.deactivated),
             _ids("deleted (no longer listed, nothing referred to them)", summary.deleted)]
    if summary.liaison_officers_imported:
        lines.append(f"liaison officers added: {summary.liaison_officers_added}, changed: "
                     f"{summary.liaison_officers_changed}, removed: {summary.liaison_officers_removed}")
    else:
        lines.append(f"liaison officers: left as they were ({summary.liaison_officers_removed} removed with their "
                     "agencies)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.routing.directory",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    imported = commands.add_parser("import", help="make the directory what a CSV file says")
    imported.add_argument("file", type=Path, help="the agencies file")
    imported.add_argument("--liaison-officers", type=Path, help="the liaison officers file (without it, the contacts "
                                                               "stay as they are)")
    imported.add_argument("--dry-run", action="store_true", help="check and tell what would change; change nothing")
    exported = commands.add_parser("export", help="write the directory as CSV")
    exported.add_argument("file", type=Path, nargs="?", help="where to write the agencies (default: stdout)")
    exported.add_argument("--liaison-officers", type=Path, help="where to write the liaison officers")
    args = parser.parse_args(argv)

    url = config.get("DATABASE_URL")
    db.migrate(url, schema="routing", folder=MIGRATIONS, outbox=True)
    pool = db.open_pool(url, name="routing-directory", size=2)
    try:
        routing = RoutingService(pool=pool, clock=SystemClock())
        routing.ensure_national_desk()
        routing.load_regions()
        if args.command == "import":
            return _import(routing, args)
        agencies, officers = routing.directory.export_files()
        if args.file:
            args.file.write_text(agencies, encoding="utf-8")
        else:
            sys.stdout.write(agencies)
        if args.liaison_officers:
            args.liaison_officers.write_text(officers, encoding="utf-8")
        return 0
    except RegionListError as e:
        print(f"error: the reference list of regions: {e}", file=sys.stderr)
        return 1
    finally:
        pool.close()


def _import(routing: RoutingService, args) -> int:
    names = {AGENCIES_FILE: str(args.file)}
    try:
        agencies = args.file.read_bytes()
        officers = None
        if args.liaison_officers:
            names[LIAISON_OFFICERS_FILE] = str(args.liaison_officers)
            officers = args.liaison_officers.read_bytes()
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        summary = routing.directory.apply(agencies_csv=agencies, liaison_officers_csv=officers,
                                          imported_by=f"cli:{getpass.getuser()}", dry_run=args.dry_run)
    except DirectoryRejected as e:
        for problem in e.problems:
            where = f"{names[problem.file]}:{problem.line}" if problem.line else names[problem.file]
            print(f"{where}: {problem.message}", file=sys.stderr)
        print(f"refused: {len(e.problems)} problem(s); nothing was changed", file=sys.stderr)
        return 1
    print(describe(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
