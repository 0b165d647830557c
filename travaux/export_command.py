"""`travaux export`: a text as Akoma Ntoso or Word, clean, for negotiation, or a redline.

    travaux export TEXT --format akn|docx --mode clean|negotiation|redline
                   [--from A] [--to B] [--language L] [--keep-brackets] -o FILE

TEXT, A and B are each a file (Markdown, Akoma Ntoso .xml/.akn, Word .docx: read, not
stored) or the id of a stored text; A and B may also name a revision of the stored TEXT
("Rev.1", "2", "now") once revisions are kept. A redline (Word only) shows the changes
from A to B (default: TEXT as it stands) as tracked changes. `-o -` writes to stdout.

`add_export_parser(subparsers)` adds the command to the `travaux` parser; its handler is
`cmd_export(args, reporter)`, which returns the exit code (0 done, 1 no such text, 2 bad
input: an unknown format, a text not final for a clean export, a file that cannot be read).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crdt_sync.store import DATA_DIR_ENV, UnknownText
from drafting.importers.parsed import SourceError
from drafting.importing import import_bytes
from drafting.schema import NegotiationText
from exporters.akn import export_akn
from exporters.akn_meta import RevisionEvent
from exporters.document import ExportError, OpenBracketsError
from exporters.docx import export_docx
from exporters.redline import export_redline
from travaux.cli import EXIT_OK, CommandError, Reporter, load_text, open_store

FORMATS = ("akn", "docx")
MODES = ("clean", "negotiation", "redline")
SUFFIXES = {"akn": ".xml", "docx": ".docx"}


def add_export_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Register `travaux export`; `parents` may give the shared --db/-q options."""
    sub = subparsers.add_parser(
        "export",
        parents=list(parents),
        help="write a text as Akoma Ntoso XML or Word (clean, negotiation, redline)",
        description="Write a text as an Akoma Ntoso 3.0 document (--format akn) or a Word "
        "document (--format docx): the clean final text (refused while brackets are open, "
        "unless --keep-brackets), the negotiation text with its brackets, Parties and "
        "proposals, or (Word only) a redline of the changes from --from to --to as tracked "
        "changes. TEXT is a file (.md, .xml/.akn, .docx) or the id of a stored text.",
        epilog="see docs/EXPORTS.md for what goes where in each format",
    )
    if not parents:
        sub.add_argument(
            "--db",
            metavar="URL",
            help=f"database to use (SQLAlchemy URL; default: the SQLite file in ${DATA_DIR_ENV})",
        )
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    sub.add_argument("text", metavar="TEXT", help="a file or the id of a stored text")
    sub.add_argument("--format", choices=FORMATS, required=True, help="akn or docx")
    sub.add_argument("--mode", choices=MODES, default="negotiation", help="default: %(default)s")
    sub.add_argument(
        "--from", dest="before", metavar="A", help="redline: the earlier version (required)"
    )
    sub.add_argument("--to", dest="after", metavar="B", help="redline: the later (default TEXT)")
    sub.add_argument("--language", metavar="L", help="the language version (default: the first)")
    sub.add_argument(
        "--keep-brackets",
        action="store_true",
        help="clean mode: export a text whose brackets are still open, brackets shown",
    )
    sub.add_argument(
        "-o", "--output", metavar="FILE", required=True, help='where to write ("-": stdout)'
    )
    sub.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace, reporter: Reporter) -> int:
    if args.mode == "redline" and args.format != "docx":
        raise CommandError("a redline is a Word document: use --format docx with --mode redline")
    if args.mode == "redline" and not args.before:
        raise CommandError("--mode redline needs --from (the earlier version)")
    if args.mode != "redline" and (args.before or args.after):
        raise CommandError("--from and --to are for --mode redline")
    started = time.perf_counter()
    text = read_text(args.text, args.db, reporter)
    try:
        if args.mode == "redline":
            before = read_text(args.before, args.db, reporter, of=args.text)
            after = read_text(args.after, args.db, reporter, of=args.text) if args.after else text
            data = export_redline(before, after, language=args.language)
        elif args.format == "akn":
            data = export_akn(
                text,
                args.mode,
                keep_brackets=args.keep_brackets,
                language=args.language,
                revisions=stored_revisions(args.text, args.db),
            )
        else:
            data = export_docx(
                text, args.mode, keep_brackets=args.keep_brackets, language=args.language
            )
    except OpenBracketsError as error:
        listed = "\n".join(f"  {bracket}" for bracket in error.open_brackets[:20])
        more = len(error.open_brackets) - 20
        tail = f"\n  … and {more} more" if more > 0 else ""
        raise CommandError(
            f"{error.headline}; settle them, export with --mode negotiation, or keep them "
            f"in a clean copy with --keep-brackets:\n{listed}{tail}"
        ) from None
    except ExportError as error:
        raise CommandError(str(error)) from None
    write_output(args.output, data)
    record_export(args)
    if args.output != "-":
        reporter.progress(
            f"wrote {args.output} ({args.format}, {args.mode}, {len(data):,} bytes) "
            f"in {time.perf_counter() - started:.2f} s"
        )
    return EXIT_OK


def read_text(
    name: str, db: str | None, reporter: Reporter, *, of: str | None = None
) -> NegotiationText:
    """A file (Markdown, AKN, DOCX), a stored text, or a revision of the stored text `of`."""
    path = Path(name)
    if path.is_file() and path.suffix.lower() in (".xml", ".akn", ".docx"):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: cannot be read ({error.strerror or error})") from None
        try:
            result = import_bytes(path.name, data)
        except SourceError as error:
            raise CommandError(f"{path}: {error}") from None
        for warning in result.warnings:
            reporter.warning(f"{path}:{warning.line}", warning.message)
        return result.text
    if of is not None and not path.exists():
        revision = _revision(of, name, db)
        if revision is not None:
            return revision
    return load_text(name, db, reporter)


def _revision(text_id: str, ref: str, db: str | None) -> NegotiationText | None:
    """Revision `ref` of stored text `text_id`, when revisions are kept and it exists."""
    try:
        from crdt_sync import history_store
    except ImportError:
        return None
    with open_store(db) as store:
        try:
            return history_store.open_state(store, text_id, ref)[1]
        except (UnknownText, LookupError, ValueError):
            return None


def stored_revisions(name: str, db: str | None) -> list[RevisionEvent]:
    """The revisions of a stored text, for the AKN lifecycle ([] for a file)."""
    if Path(name).exists():
        return []
    try:
        from crdt_sync import history_store
    except ImportError:
        return []
    with open_store(db) as store:
        try:
            revisions = history_store.list_revisions(store, name)
        except Exception:  # optional metadata: the export goes on without it
            return []
    return [RevisionEvent(r.label, r.created.isoformat()) for r in revisions]


def record_export(args: argparse.Namespace) -> None:
    """An export of a stored text goes into the audit log (one of a file does not: no
    negotiation text was read)."""
    if Path(args.text).exists():
        return
    from travaux.audit_command import AuditAction, record_from_cli
    from travaux.history_command import _user

    detail = {"format": args.format, "mode": args.mode, "output": args.output}
    if args.mode == "redline":
        detail |= {"from": args.before, "to": args.after or "now"}
    with open_store(args.db) as store:
        record_from_cli(store, AuditAction.EXPORT, text_id=args.text, person=_user(), detail=detail)


def write_output(output: str, data: bytes) -> None:
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    path = Path(output)
    try:
        path.write_bytes(data)
    except OSError as error:
        raise CommandError(f"{path}: cannot be written ({error.strerror or error})") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run `travaux export` on its own: `python -m travaux.export_command TEXT …`."""
    parser = argparse.ArgumentParser(prog="travaux")
    add_export_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["export", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.run(args, Reporter(quiet=args.quiet))
    except CommandError as error:
        print(f"travaux: error: {error}", file=sys.stderr)
        return error.code


if __name__ == "__main__":
    sys.exit(main())
