"""Staff accounts from the command line: the first national administrator, before anyone can sign in
to make the others at /staf/akun; and what an operator needs when no administrator can sign in (the
last one forgot their password, or was disabled).

    python -m services.portal.staff create --username NAME --role ROLE [--agency-id ID] [--password-stdin]
    python -m services.portal.staff reset-password --username NAME
    python -m services.portal.staff enable --username NAME

The password is asked for twice on the terminal, or read from the first line of standard input with
--password-stdin (for scripts: never put it on the command line, where other users see it).
reset-password prints a temporary password on standard output, which the account must replace at its
next sign-in; its sessions end. The commands read DATABASE_URL and apply the portal's migrations first.
"""

import argparse
import getpass
import sys
from pathlib import Path

from services.plumbing import clock, config, db
from services.portal.staff_accounts import ROLES, TAKEN, Invalid, NewStaffAccount, StaffAccount
from services.portal.staff_service import StaffService


def read_password(from_stdin: bool) -> str:
    """The new account's password; ValueError when the two typed differ."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    typed = getpass.getpass("password: ")
    if getpass.getpass("password again: ") != typed:
        raise ValueError("the two passwords are not the same")
    return typed


def create(service: StaffService, args) -> int:
    try:
        secret = read_password(args.password_stdin)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        account = service.create(None, NewStaffAccount(username=args.username, password=secret, role=args.role,
                                                        agency_id=args.agency_id))
    except Invalid as e:
        if e.problems.get("username") == TAKEN:
            print(f"error: an account named {args.username.strip().lower()} already exists", file=sys.stderr)
        else:
            print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"created {account.role} account {account.username}" + (f" for agency {account.agency_id}"
                                                                   if account.agency_id else ""), file=sys.stderr)
    return 0


def named(service: StaffService, username: str) -> StaffAccount | None:
    account = service.by_username(username)
    if account is None:
        print(f"error: there is no account named {username.strip().lower()}", file=sys.stderr)
    return account


def reset_password(service: StaffService, args) -> int:
    if (account := named(service, args.username)) is None:
        return 1
    account, temporary = service.reset_password(None, account.id)
    print(temporary)  # the only place it is ever shown
    print(f"reset the password of {account.username}: it must be changed at the next sign-in"
          + ("" if account.active else " (the account is disabled)"), file=sys.stderr)
    return 0


def enable(service: StaffService, args) -> int:
    if (account := named(service, args.username)) is None:
        return 1
    if account.active:
        print(f"{account.username} is active already", file=sys.stderr)
        return 0
    service.enable(None, account.id)
    print(f"enabled {account.username}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.portal.staff", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("create", help="create a staff account")
    made.add_argument("--username", required=True, help="3 to 64 characters: a-z, 0-9, '.', '_', '-'")
    made.add_argument("--role", required=True, choices=ROLES)
    made.add_argument("--agency-id", default="", help="the agency of an agency administrator or liaison officer")
    made.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    made.set_defaults(run=create)
    reset = commands.add_parser("reset-password", help="give an account a temporary password, printed once")
    reset.add_argument("--username", required=True)
    reset.set_defaults(run=reset_password)
    enabled = commands.add_parser("enable", help="enable a disabled account again")
    enabled.add_argument("--username", required=True)
    enabled.set_defaults(run=enable)
    args = parser.parse_args(argv)

    url = config.get("DATABASE_URL")
    db.migrate(url, schema="portal", folder=Path(__file__).with_name("migrations"))
    pool = db.open_pool(url, name="portal-staff-cli", size=1)
    try:
        return args.run(StaffService(pool=pool, clock=clock.from_setting(config.get("SP4N_CLOCK"))), args)
    finally:
        pool.close()


if __name__ == "__main__":
    sys.exit(main())
