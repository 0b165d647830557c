"""The history commands of `travaux`: revisions, clause history, diffs, restore, and a
later draft loaded as the next revision of a text.

    travaux revisions TEXT [--verify] [--json]
    travaux revise TEXT [--label L] [--author NAME]
    travaux history TEXT CLAUSE [--party P] [--person X] [--kind K] [--since T] [--until T]
                                [--subtree] [--at REV] [--json]
    travaux diff TEXT A B [--clause C] [--side-by-side] [--json]  (A, B: revision, now, time)
    travaux restore TEXT CLAUSE --to REV [--person X] [--party P]
    travaux import-revision FILE --into TEXT [--label L] [--base-label L] [--author NAME]

CLAUSE is a clause id or a citation such as "Article 2", "2.1(a)", "Article 2 bis".
`add_history_parsers(subparsers)` adds them to the `travaux` parser; `python -m
travaux.history_command …` runs them on their own. Exit codes are those of `travaux`, and
3 when `revisions --verify` finds the record altered.

`revise`, `restore` and `import-revision` append to the store directly. A running server
would not see those changes in a text it has open, so they refuse (exit 4) while a server
process has the SQLite database open, unless `--force`; through a server, use the HTTP
routes instead (docs/HISTORY.md). Each write also brings the text's history cache up to
date when it is indexed, so that its next reading is quick.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from crdt_sync import history_store as hs
from drafting.diffs import clause_rendering, columns, find_clause, inline, side_by_side
from drafting.history import EntryKind, HistoryEntry
from drafting.importers.parsed import SourceError
from drafting.redraft import RedraftError
from drafting.revisions import Revision, RevisionError
from travaux.arguments import parse_time

EXIT_ALTERED = 3
EXIT_SERVED = 4  # a server has the database open: write through it (or --force)
FORCE_HELP = "write even if a server is using the database (see docs/HISTORY.md)"
SERVER_PROGRAMS = ("uvicorn", "gunicorn", "hypercorn")


def add_history_parsers(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Register the history commands on the `travaux` command's subparsers; `parents`
    brings `--db` and `-q` from the `travaux` command (standalone, they are added here)."""
    if parents:
        common = parents[0]
    else:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--db", metavar="URL", help="database to use (SQLAlchemy URL)")
        common.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    text = {"metavar": "TEXT", "help": "the id of a stored text (`travaux list`)"}
    clause = {"metavar": "CLAUSE", "help": 'a clause id, or a citation: "Article 2", "2.1(a)"'}

    sub = subparsers.add_parser(
        "revisions",
        parents=[common],
        help="list a text's revisions (and check their hash chain)",
        description="List the revisions of a text: number, label, time, author, counts and "
        "hash. --verify checks every revision against its hashes and the chain.",
    )
    sub.add_argument("text", **text)
    sub.add_argument(
        "--verify", action="store_true", help="check the hash chain (exit 3 if broken)"
    )
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(run=cmd_revisions)

    sub = subparsers.add_parser(
        "revise",
        parents=[common],
        help="cut the next revision of a text",
        description="Cut the next revision of a text as it stands (immutable, numbered, "
        "hash-chained); its label also becomes the text's current revision.",
    )
    sub.add_argument("text", **text)
    sub.add_argument("--label", help='e.g. "Rev.2" or "Chair\'s text 4 Dec" (default Rev.N)')
    sub.add_argument("--author", default=_user(), help="who cuts it (default: %(default)s)")
    sub.add_argument("--force", action="store_true", help=FORCE_HELP)
    sub.set_defaults(run=cmd_revise)

    sub = subparsers.add_parser(
        "history",
        parents=[common],
        help="the history of a clause: who changed what, when",
        description="Every change to a clause, grouped as a reviewer reads them (a burst "
        "of typing, a proposal tabled or withdrawn, a bracket lifted, a status change), with "
        "its Party, person, time and the words before and after.",
    )
    sub.add_argument("text", **text)
    sub.add_argument("clause", **clause)
    sub.add_argument("--party", help="only changes attributed to this Party")
    sub.add_argument("--person", help="only changes by this person (or origin)")
    sub.add_argument(
        "--kind", choices=[k.value for k in EntryKind], help="only changes of this kind"
    )
    sub.add_argument("--since", help="from this time (ISO 8601, UTC unless given)")
    sub.add_argument("--until", help="up to this time (ISO 8601)")
    sub.add_argument("--subtree", action="store_true", help="include the clauses under it")
    sub.add_argument(
        "--at",
        metavar="REV",
        help="instead, print the clause as it stood then (a revision, or a time such as "
        '"2015-12-09T21:30")',
    )
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(run=cmd_history)

    sub = subparsers.add_parser(
        "diff",
        parents=[common],
        help="word-level differences between two revisions (or now)",
        description="Compare two states of a text, word by word within clauses; clauses "
        "added, deleted, moved and renumbered are reported as such. A and B are revision "
        'labels or numbers, "now", or times (ISO 8601: the text as of the last change made '
        "by then).",
    )
    sub.add_argument("text", **text)
    sub.add_argument("old", metavar="A")
    sub.add_argument("new", metavar="B")
    sub.add_argument("--clause", help="only this clause and the clauses under it")
    sub.add_argument("--side-by-side", action="store_true", help="old and new in two columns")
    sub.add_argument("--all", action="store_true", help="list unchanged clauses too")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(run=cmd_diff)

    sub = subparsers.add_parser(
        "restore",
        parents=[common],
        help="give a clause back an earlier wording, as a new change",
        description="Restore a clause to its wording in an earlier revision. The restore "
        "is a new change in the history, attributed to --person; nothing is rewritten.",
    )
    sub.add_argument("text", **text)
    sub.add_argument("clause", **clause)
    sub.add_argument("--to", required=True, metavar="REV", help="the revision to restore from")
    sub.add_argument("--person", default=_user(), help="who restores (default: %(default)s)")
    sub.add_argument("--party", default="", help="the Party they act for, if any")
    sub.add_argument("--force", action="store_true", help=FORCE_HELP)
    sub.set_defaults(run=cmd_restore)

    sub = subparsers.add_parser(
        "import-revision",
        parents=[common],
        help="load a later draft as the next revision of a stored text",
        description="Read a later draft (UNFCCC-style Markdown), match its clauses with the "
        "text's by structure and wording, apply the differences as attributed changes (so "
        "each clause keeps its history), and cut a revision. A text with no revision yet "
        "first gets one of itself as it stood.",
    )
    sub.add_argument("file", metavar="FILE", help="the later draft (UTF-8)")
    sub.add_argument("--into", required=True, metavar="TEXT", help="the stored text it revises")
    sub.add_argument("--label", help="the new revision's label (default Rev.N)")
    sub.add_argument("--base-label", help="label of the first revision, if one is cut")
    sub.add_argument("--author", default=_user(), help="who loads it (default: %(default)s)")
    sub.add_argument("--force", action="store_true", help=FORCE_HELP)
    sub.set_defaults(run=cmd_import_revision)


# -- commands ---------------------------------------------------------------------------------


def cmd_revisions(args: argparse.Namespace, reporter: Any) -> int:
    with _store(args) as store:
        revisions = _call(hs.list_revisions, store, args.text)
        problems = hs.verify_revisions(store, args.text) if args.verify else []
    if args.json:
        body: dict[str, Any] = {"revisions": [r.summary() for r in revisions]}
        if args.verify:
            body["intact"] = not problems
            body["problems"] = [{"number": p.number, "problem": p.what} for p in problems]
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        if not revisions:
            reporter.note(f"no revisions yet; `travaux revise {args.text}` cuts the first")
        for r in revisions:
            counts = r.statistics
            print(
                f"{r.number:>3}  {r.label:<24} {r.created:%Y-%m-%d %H:%M}  {r.author or '-':<14}"
                f" brackets {counts.get('brackets', 0):>5}  options {counts.get('options', 0):>4}"
                f"  {r.hash[:12]}"
            )
        if args.verify:
            for problem in problems:
                print(f"ALTERED {problem}", file=sys.stderr)
            if not problems:
                head = revisions[-1].hash if revisions else "-"
                reporter.progress(f"intact: {len(revisions)} revisions, head hash {head}")
    return EXIT_ALTERED if problems else 0


def cmd_revise(args: argparse.Namespace, reporter: Any) -> int:
    with _store(args) as store:
        _refuse_if_served(store, args, reporter)
        revision = _call(hs.cut_revision, store, args.text, label=args.label, author=args.author)
        _record_revision(store, args.text, revision, person=args.author)
        hs.keep_indexed(store, args.text)
    reporter.progress(
        f"revision {revision.number} {revision.label!r}: "
        f"{revision.statistics.get('brackets', 0)} brackets, "
        f"{revision.statistics.get('options', 0)} options"
    )
    print(revision.hash)
    return 0


def cmd_history(args: argparse.Namespace, reporter: Any) -> int:
    with _store(args) as store:
        clause = _clause(store, args.text, args.clause)
        if args.at:
            name, then = _call(hs.open_state, store, args.text, args.at)
            if not then.has_clause(clause):
                raise _error(f"clause {args.clause!r} did not exist in {name}")
            print(clause_rendering(then, clause, subtree=args.subtree))
            return 0
        entries = _call(
            hs.clause_history,
            store,
            args.text,
            clause,
            subtree=args.subtree,
            party=args.party,
            person=args.person,
            kind=args.kind,
            since=_time(args.since),
            until=_time(args.until),
        )
        revisions = hs.list_revisions(store, args.text)
        now = hs.text_at(store, args.text)
    if args.json:
        print(
            json.dumps(
                {
                    "clause": clause,
                    "entries": [
                        {**e.to_json(), "revision": _revision_of(e, revisions)} for e in entries
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    print(clause_rendering(now, clause).split("\n")[0][:100] or clause)
    color = sys.stdout.isatty()
    shown = 0
    for entry in entries:
        for revision in revisions:
            if shown < revision.up_to_update_id < entry.first_update:
                print(f"  ── {revision.label} (revision {revision.number}) ──")
        shown = max(shown, entry.first_update)
        print(_entry_line(entry))
        if entry.words_before != entry.words_after:
            print("      " + inline(entry.ops(), color=color))
    if not entries:
        reporter.note("no changes match")
    return 0


def cmd_diff(args: argparse.Namespace, reporter: Any) -> int:
    from drafting.diffs import diff_texts

    with _store(args) as store:
        old_name, old = _call(hs.open_state, store, args.text, args.old)
        new_name, new = _call(hs.open_state, store, args.text, args.new)
        clause = _clause(store, args.text, args.clause) if args.clause else None
    diff = diff_texts(old, new, clause=clause)
    if args.json:
        print(json.dumps({"from": old_name, "to": new_name, **diff.to_json()}, ensure_ascii=False))
        return 0
    counts = ", ".join(f"{n} {what}" for what, n in diff.counts().items() if n) or "no changes"
    print(f"{old_name} → {new_name}: {counts}")
    color = sys.stdout.isatty()
    width = os.get_terminal_size().columns if sys.stdout.isatty() else 100
    for d in diff.clauses if args.all else diff.changed():
        print(f"\n{d.reference or d.clause}  [{', '.join(d.changes) or 'unchanged'}]")
        if args.side_by_side and d.old_words and d.new_words:
            left, right = side_by_side(d.ops)
            print(columns(left, right, width))
        elif d.ops:
            print("    " + inline(d.ops, color=color))
    return 0


def cmd_restore(args: argparse.Namespace, reporter: Any) -> int:
    with _store(args) as store:
        _refuse_if_served(store, args, reporter)
        clause = _clause(store, args.text, args.clause)
        ids = _call(
            hs.restore,
            store,
            args.text,
            clause,
            to=args.to,
            person=args.person,
            party=args.party,
        )
        now = hs.text_at(store, args.text)
        hs.keep_indexed(store, args.text)
        if ids:
            from travaux.audit_command import AuditAction, record_from_cli

            record_from_cli(
                store,
                AuditAction.CLAUSE_RESTORED,
                text_id=args.text,
                person=args.person,
                party=args.party,
                target=clause,
                detail={"to": args.to, "changes": ids},
            )
    if not ids:
        reporter.note(f"the clause already reads as in {args.to}: nothing to restore")
    else:
        reporter.progress(f"restored as change {ids[-1]} of the log")
    print(clause_rendering(now, clause))
    return 0


def cmd_import_revision(args: argparse.Namespace, reporter: Any) -> int:
    from travaux import cli

    path = Path(args.file)
    source = cli.read_source(path)
    with _store(args) as store:
        _refuse_if_served(store, args, reporter, text_id=args.into)
        reporter.progress(f"loading {path} into {args.into} … ", end="")
        try:
            loaded = _call(
                hs.load_draft,
                store,
                args.into,
                source,
                label=args.label,
                base_label=args.base_label,
                author=args.author,
                file=path.name,
            )
        except SourceError as error:
            reporter.progress("failed")
            raise _error(f"{path}: {error}") from None
        if loaded.base is not None:
            _record_revision(store, args.into, loaded.base, person=args.author)
        _record_revision(store, args.into, loaded.revision, person=args.author, file=path.name)
        hs.keep_indexed(store, args.into)
    counts = loaded.report.counts()
    reporter.progress(
        f"done: {counts['matched']} clauses continued ({counts['moved']} moved, "
        f"{counts['reworded']} reworded), {counts['added']} added, {counts['deleted']} deleted"
    )
    if loaded.base is not None:
        reporter.note(f"the text as it stood was cut first as revision 1 {loaded.base.label!r}")
    stats = loaded.revision.statistics
    print(
        f"{loaded.revision.number} {loaded.revision.label}: {stats.get('brackets', 0)} "
        f"brackets, {stats.get('options', 0)} options"
    )
    return 0


# -- helpers -------------------------------------------------------------------------------------


def _record_revision(
    store: Any, text_id: str, revision: Revision, *, person: str, file: str = ""
) -> None:
    """The audit log's entry for a revision cut here (travaux.audit_command)."""
    from travaux.audit_command import AuditAction, record_from_cli

    detail: dict[str, Any] = {"number": revision.number, "hash": revision.hash}
    if file:
        detail["draft"] = file
    record_from_cli(
        store,
        AuditAction.REVISION_CUT,
        text_id=text_id,
        person=person,
        target=revision.label,
        detail=detail,
    )


def _refuse_if_served(
    store: Any, args: argparse.Namespace, reporter: Any, *, text_id: str = ""
) -> None:
    """These commands append to the text's log directly. A running server that has the
    text open in a room would not see the change (its clients would not, until they
    reload) and a snapshot it writes later could leave the change out of what loads. So
    when a server has the database open, refuse, unless --force."""
    servers = serving_processes(store)
    if not servers:
        return
    text_id = text_id or args.text
    if args.force:
        reporter.note(
            f"a server is using this database ({servers[0]}); writing all the same "
            "(--force): if it has this text open, its clients see the change only after "
            "it reloads the text"
        )
        return
    from travaux import cli

    raise cli.CommandError(
        f"a server is using this database ({'; '.join(servers)}). Make the change through "
        f"it, so that everyone editing sees it: POST /api/texts/{text_id}/revisions "
        f"(revise), …/clauses/CLAUSE/restore (restore), …/revisions/import "
        "(import-revision). If no server has this text open, add --force.",
        EXIT_SERVED,
    )


def serving_processes(store: Any) -> list[str]:
    """Server processes (`travaux serve`, uvicorn …) other than this one that have the
    store's SQLite database open, as "pid N: command line". Read from /proc (Linux); []
    where there is none, and for other databases (a server cannot be told there from the
    command line's own connections: see docs/HISTORY.md)."""
    database = store.url.database if store.engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or not os.path.isdir("/proc"):
        return []
    path = os.path.realpath(database)
    watched = {path, f"{path}-wal", f"{path}-shm"}
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            targets = {os.readlink(fd.path) for fd in os.scandir(f"/proc/{entry.name}/fd")}
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                argv = [a.decode(errors="replace") for a in cmdline.read().split(b"\0") if a]
        except OSError:  # gone, or not ours to look at
            continue
        if targets & watched and _is_server(argv):
            found.append(f"pid {entry.name}: {' '.join(argv)[:160]}")
    return found


def _is_server(argv: list[str]) -> bool:
    names = [os.path.basename(a) for a in argv[:3]]
    return "serve" in argv or any(n.startswith(SERVER_PROGRAMS) for n in names)


def _entry_line(entry: HistoryEntry) -> str:
    who = entry.person + (f" ({entry.party})" if entry.party else "")
    also = [k for k in entry.kinds[1:] if k != "edited"]
    outcome = [p.get("outcome") for p in entry.detail.get("proposals", []) if p.get("outcome")]
    notes = []
    if also:
        notes.append("+ " + ", ".join(also))
    if outcome:
        notes.append("now " + ", ".join(outcome))
    if entry.detail.get("status"):
        notes.append(f"{entry.detail['status']['from']} → {entry.detail['status']['to']}")
    if entry.detail.get("rev"):
        notes.append(f"draft {entry.detail['rev']}")
    changes = f"{entry.changes} changes" if entry.changes > 1 else ""
    extra = "; ".join(n for n in [*notes, changes] if n)
    return f"  {entry.started:%Y-%m-%d %H:%M}  {entry.kind:<18} {who}" + (
        f"  [{extra}]" if extra else ""
    )


def _revision_of(entry: HistoryEntry, revisions: list[Revision]) -> str | None:
    """The first revision that includes the entry (None: after the latest)."""
    for revision in revisions:
        if entry.last_update <= revision.up_to_update_id:
            return revision.label
    return None


def _clause(store: Any, text_id: str, reference: str) -> str:
    text = _call(hs.text_at, store, text_id)
    try:
        return find_clause(text, reference)
    except KeyError as error:
        raise _error(str(error.args[0]), not_found=True) from None


def _time(value: str | None) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError as error:
        raise _error(str(error)) from None


def _store(args: argparse.Namespace) -> Any:
    from travaux import cli

    return cli.open_store(args.db)


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a store function; its errors become one-line messages with exit codes."""
    from crdt_sync.store import UnknownText

    try:
        return function(*args, **kwargs)
    except UnknownText as error:
        raise _error(f"{error}; `travaux list` shows the stored texts", not_found=True) from None
    except KeyError as error:
        raise _error(str(error.args[0] if error.args else error), not_found=True) from None
    except (RevisionError, RedraftError, ValueError) as error:
        raise _error(str(error)) from None


def _error(message: str, *, not_found: bool = False) -> Exception:
    from travaux import cli

    return cli.CommandError(message, cli.EXIT_NOT_FOUND if not_found else cli.EXIT_BAD_INPUT)


def _user() -> str:
    return os.environ.get("TRAVAUX_USER") or os.environ.get("USER") or ""


# -- on its own ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="travaux", description=__doc__.split("\n\n")[0])
    add_history_parsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from travaux import cli

    args = build_parser().parse_args(argv)
    reporter = cli.Reporter(quiet=args.quiet)
    try:
        return args.run(args, reporter)
    except cli.CommandError as error:
        print(f"{cli.PROG}: error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
