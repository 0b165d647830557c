"""`travaux audit`: read the audit log, and check that nobody altered it.

    travaux audit verify [--expect-head ID:HASH] [--json]
    travaux audit list [--negotiation N] [--text T] [--party P] [--person P]
                       [--action A …] [--since ISO] [--until ISO] [--after ID] [--limit N]
                       [--json]

`verify` checks every entry against its hash and the entry before it, and prints the head
(the last entry, as ID:HASH): note it somewhere else (the minutes, a daily e-mail) and give
it back later with --expect-head, since entries deleted from the end of the log leave a
chain that is still valid on its own. Exit codes: 0 intact, 1 altered (each problem printed
with its entry id), 2 bad input or usage.

`add_audit_parser(subparsers)` adds the command to the `travaux` parser.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crdt_sync.audit import MAX_LIMIT, AuditAction, AuditEntry, AuditHead, AuditLog
from crdt_sync.store import Store
from travaux.arguments import parse_time

EXIT_TAMPERED = 1


def add_audit_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Register `travaux audit verify|list`; `parents` brings --db and -q from `travaux`."""
    if parents:
        common = parents[0]
    else:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--db", metavar="URL", help="database to use (SQLAlchemy URL)")
        common.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    audit = subparsers.add_parser(
        "audit",
        help="read the audit log, or check that it is intact",
        description="The audit log records who (person and Party) did what and when: "
        "sign-ins, refused updates, proposals, status changes, revisions, exports. Each entry "
        "is chained by hash to the one before it.",
    )
    commands = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)

    sub = commands.add_parser(
        "verify",
        parents=[common],
        help="check every entry against the hash chain (exit 1 if altered)",
        description="Check every entry of the audit log against its hash and the entry "
        "before it; print the head (ID:HASH). An edited entry, a deleted one or a broken "
        "chain is printed with its entry id and the exit code is 1. Entries deleted from "
        "the END cannot be seen from the chain alone: give a head noted earlier with "
        "--expect-head to catch that.",
    )
    sub.add_argument(
        "--expect-head",
        metavar="ID:HASH",
        help="a head printed by an earlier verify: check it is still there, unchanged",
    )
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(run=cmd_verify)

    sub = commands.add_parser(
        "list",
        parents=[common],
        help="list audit entries, oldest first, with filters",
        description="List the audit log's entries, oldest first. Filters combine (and); "
        "--action may be repeated (or). Times are ISO 8601, UTC unless a zone is given; "
        "--since includes its time, --until excludes it.",
        epilog="actions Travaux records: " + ", ".join(a.value for a in AuditAction),
    )
    sub.add_argument("--negotiation", metavar="N", help="only this negotiation's entries")
    sub.add_argument("--text", metavar="T", help="only entries about this text")
    sub.add_argument("--party", metavar="P", help="only entries of this Party")
    sub.add_argument("--person", metavar="P", help="only entries of this person")
    sub.add_argument("--action", metavar="A", action="append", nargs="+", help="only these actions")
    sub.add_argument("--since", metavar="ISO", help="from this time (inclusive)")
    sub.add_argument("--until", metavar="ISO", help="before this time (exclusive)")
    sub.add_argument("--after", metavar="ID", type=int, default=0, help="only entries after id")
    sub.add_argument("--limit", metavar="N", type=int, help="at most N entries (default: all)")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(run=cmd_list)


# -- commands -------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace, reporter: Any) -> int:
    expected = None
    if args.expect_head:
        try:
            expected = AuditHead.parse(args.expect_head)
        except ValueError as error:
            raise _error(f"--expect-head: {error}") from None
    with _store(args) as store:
        verification = AuditLog(store).verify(expect_head=expected)
    if args.json:
        print(json.dumps(verification.to_json(), indent=2))
        return 0 if verification.ok else EXIT_TAMPERED
    for problem in verification.problems:
        print(f"ALTERED {problem}")
    head = str(verification.head) if verification.head else "none (the log is empty)"
    if verification.ok:
        checked = f"{verification.checked} entr{'y' if verification.checked == 1 else 'ies'}"
        against = f", and entry {expected.id} is as noted" if expected else ""
        print(f"intact: {checked} chained{against}")
    else:
        count = len(verification.problems)
        print(
            f"ALTERED: {count} problem{'s' if count != 1 else ''} in {verification.checked} "
            "entries; the log is not what was written"
        )
    print(f"head {head}")
    if verification.ok and not expected and verification.head:
        reporter.progress(
            "note the head elsewhere and check it later with --expect-head: entries deleted "
            "from the end of the log cannot be seen from the chain alone"
        )
    return 0 if verification.ok else EXIT_TAMPERED


def cmd_list(args: argparse.Namespace, reporter: Any) -> int:
    if args.limit is not None and args.limit < 1:
        raise _error("--limit must be at least 1")
    actions = [a for group in args.action for a in group] if args.action else None
    filters: dict[str, Any] = {
        "negotiation_id": args.negotiation,
        "text_id": args.text,
        "party": args.party,
        "person": args.person,
        "actions": actions,
        "since": _time(args.since, "--since"),
        "until": _time(args.until, "--until"),
    }
    entries: list[AuditEntry] = []
    with _store(args) as store:
        log = AuditLog(store)
        after = args.after
        while args.limit is None or len(entries) < args.limit:
            wanted = MAX_LIMIT if args.limit is None else min(MAX_LIMIT, args.limit - len(entries))
            page = log.entries(**filters, after_id=after, limit=wanted)
            entries.extend(page)
            if len(page) < wanted:
                break
            after = page[-1].id
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2, ensure_ascii=False))
        return 0
    for entry in entries:
        print(entry_line(entry))
    if not entries:
        reporter.note("no entries match")
    return 0


def entry_line(entry: AuditEntry) -> str:
    """One entry on one line: id, time, action, who, where, what."""
    who = (entry.person or "-") + (f" ({entry.party})" if entry.party else "")
    where = "/".join(part for part in (entry.negotiation_id, entry.text_id) if part) or "-"
    detail = json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""
    tail = "  ".join(part for part in (entry.target, detail) if part)
    return (
        f"{entry.id:>6}  {entry.at:%Y-%m-%d %H:%M:%S}  {entry.action:<20} {who:<24} {where:<20}"
        + (f"  {tail}" if tail else "")
    ).rstrip()


# -- what other commands record ----------------------------------------------------------------


def record_from_cli(
    store: Store,
    action: AuditAction,
    *,
    text_id: str,
    person: str,
    party: str = "",
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> int:
    """Record an act done on a stored text from the command line (a revision cut, a clause
    restored, an export), in the negotiation the text belongs to. The person is who the
    command says (--author, --person, else $TRAVAUX_USER or $USER): the command line is
    trusted as whoever can open the database is."""
    from crdt_sync.accounts import Accounts

    return AuditLog(store).record(
        action,
        person=person,
        party=party,
        negotiation_id=Accounts(store).negotiation_of(text_id) or "",
        text_id=text_id,
        target=target,
        detail={"via": "cli", **(detail or {})},
    )


# -- helpers --------------------------------------------------------------------------------


def _time(value: str | None, option: str) -> datetime | None:
    try:
        return parse_time(value, "2026-11-22")
    except ValueError as error:
        raise _error(f"{option} {error}") from None


def _store(args: argparse.Namespace) -> Any:
    from travaux import cli

    return cli.open_store(args.db)


def _error(message: str) -> Exception:
    from travaux import cli

    return cli.CommandError(message, cli.EXIT_BAD_INPUT)


# -- on its own -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run `travaux audit` on its own: `python -m travaux.audit_command verify …`."""
    from travaux import cli

    parser = argparse.ArgumentParser(prog="travaux")
    add_audit_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.run(args, cli.Reporter(quiet=args.quiet))
    except cli.CommandError as error:
        print(f"{cli.PROG}: error: {error}", file=sys.stderr)
        return error.code


if __name__ == "__main__":
    sys.exit(main())
