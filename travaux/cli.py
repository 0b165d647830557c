"""The `travaux` command: import, inspect and serve negotiation texts.

Exit codes: 0 done, 1 no text with that id, 2 bad input or usage (a file that cannot be
read or imported, a database URL that cannot be used, a wrong option).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from crdt_sync.store import DATA_DIR_ENV, Store, StoreError, UnknownText, display_url
from drafting.importers.parsed import SourceError
from drafting.importing import ImportResult, import_bytes, import_markdown, is_document_file
from drafting.schema import NegotiationText
from drafting.statistics import statistics
from drafting.views import CleanRule, bracketed_text, clean_text

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_BAD_INPUT = 2

PROG = "travaux"

DESCRIPTION = """\
Travaux keeps negotiation texts (draft treaties, joint statements, resolutions) with
their square brackets, alternatives and options as structured data, so that many
delegations can draft the same text at once.

Start with `travaux import FILE` on a bracketed text in UNFCCC-style Markdown, then look at
it with `travaux stats ID` and `travaux show ID --bracketed`. `travaux serve` starts the web
server. `travaux COMMAND --help` explains each command."""

EPILOG = f"""\
texts are stored in a SQLite file in ${DATA_DIR_ENV} (default ~/.local/share/travaux);
--db URL uses another database, e.g. postgresql+psycopg://user@localhost:5432/travaux.

exit codes: 0 done, 1 no text with that id, 2 bad input or usage."""


class CommandError(Exception):
    """A failure to report in one line, with the exit code it means."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


class Reporter:
    """Progress and warnings go to stderr, so that stdout stays the command's result."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def progress(self, message: str, *, end: str = "\n") -> None:
        if not self.quiet:
            print(message, end=end, file=sys.stderr, flush=True)

    def warning(self, where: str, message: str) -> None:
        print(f"{where}: warning: {message}", file=sys.stderr)

    def note(self, message: str) -> None:
        print(f"{PROG}: note: {message}", file=sys.stderr)


# -- reading texts ------------------------------------------------------------------------
def read_bytes(path: Path) -> bytes:
    """The file's bytes, or a CommandError saying why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a directory, not a text file") from None
    except OSError as error:
        raise CommandError(f"{path}: cannot be read ({error.strerror or error})") from None


def read_source(path: Path) -> str:
    """The file's text, or a CommandError saying why it cannot be read."""
    return decode_source(path, read_bytes(path))


def decode_source(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # a byte-order mark from Windows editors is fine
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise CommandError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at line {line}, "
            f"column {column}); save it as UTF-8 and try again"
        ) from None


def import_file(path: Path, reporter: Reporter) -> ImportResult:
    """A Markdown draft, a Word file or an Akoma Ntoso file, as a new text."""
    data = read_bytes(path)
    document = is_document_file(path.name, data)
    source = None if document else decode_source(path, data)  # a precise UTF-8 error
    reporter.progress(f"importing {path} … ", end="")
    started = time.perf_counter()
    try:
        result = import_markdown(source) if source is not None else import_bytes(path.name, data)
    except SourceError as error:
        reporter.progress("failed")
        raise CommandError(f"{path}: {error}") from None
    elapsed = time.perf_counter() - started
    counts = statistics(result.text)
    reporter.progress(
        f"done in {elapsed:.2f} s, {counts.get('clauses', 0)} clauses, "
        f"{counts.get('brackets', 0)} brackets"
    )
    for warning in result.warnings:
        reporter.warning(f"{path}:{warning.line}:{warning.column}", warning.message)
    return result


def open_store(url: str | None) -> Store:
    try:
        return Store(url)
    except StoreError as error:
        raise CommandError(str(error)) from None


def load_text(file_or_id: str, db: str | None, reporter: Reporter) -> NegotiationText:
    """An existing path is imported in memory (nothing stored); anything else is an id."""
    path = Path(file_or_id)
    if path.exists():
        return import_file(path, reporter).text
    with open_store(db) as store:
        try:
            update = store.load(file_or_id)
        except UnknownText as error:
            raise CommandError(
                f"{error} ({display_url(store.url)}), and there is no file of that name; "
                f"`{PROG} list` shows the stored texts",
                EXIT_NOT_FOUND,
            ) from None
    return NegotiationText.from_update(update)


# -- commands ---------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace, reporter: Reporter) -> int:
    result = import_file(Path(args.file), reporter)
    with open_store(args.db) as store:
        if args.negotiation:  # checked first: a refused attachment must not leave a text
            from travaux.admin_command import check_negotiation

            check_negotiation(store, args.negotiation)
        text_id = store.create_text(
            result.text.to_update(),
            title=result.text.title,
            kind=result.text.kind,
            origin="import",
        )
        if args.negotiation:
            from travaux.admin_command import attach_text

            attach_text(store, text_id, args.negotiation)
    print(text_id)
    return EXIT_OK


def cmd_list(args: argparse.Namespace, reporter: Reporter) -> int:
    with open_store(args.db) as store:
        texts = store.list_texts()
    if args.json:
        rows = [
            {"id": t.id, "title": t.title, "kind": t.kind, "created": t.created.isoformat()}
            for t in texts
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not texts:
        reporter.note(f"no texts stored yet; `{PROG} import FILE` adds one")
    for t in texts:
        print(f"{t.id}  {t.created:%Y-%m-%d %H:%M}  {t.kind:<16} {t.title}")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, reporter: Reporter) -> int:
    counts = statistics(load_text(args.text, args.db, reporter))
    if args.json:
        print(json.dumps(counts, indent=2, ensure_ascii=False))
    else:
        print(format_statistics(counts))
    return EXIT_OK


def cmd_show(args: argparse.Namespace, reporter: Reporter) -> int:
    text = load_text(args.text, args.db, reporter)
    if args.bracketed:
        sys.stdout.write(bracketed_text(text, show_parties=args.parties))
        return EXIT_OK
    clean = clean_text(text, args.rule)
    sys.stdout.write(clean.text)
    sys.stdout.flush()
    if clean.open_brackets:
        count = len(clean.open_brackets)
        what = "bracket or option block is" if count == 1 else "brackets and option blocks are"
        kept = "kept" if args.rule == CleanRule.KEEP else "dropped"
        reporter.note(
            f"{count} {what} still open: their words were {kept} (--rule {args.rule}) and the "
            "first alternative and option were taken; --bracketed shows them"
        )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, reporter: Reporter) -> int:
    # Imported here: the other commands should not pay for loading the web stack.
    import uvicorn

    from crdt_sync.connection import Limits
    from web.app import DEMO_TEXT
    from web.frames import FrameWritingProtocol  # also loads uvicorn's WebSocket modules

    redis_url = args.redis if args.redis is not None else os.environ.get(REDIS_URL_ENV, "")
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    # Wrong settings stop here, not in each server process.
    _history_poll_seconds()
    _history_indexing_mode()
    store = open_store(args.db)
    if redis_url and args.redis is None and store.engine.dialect.name != "postgresql":
        # Set for the environment, not asked for here: a SQLite file is one process's.
        reporter.warning(PROG, f"${REDIS_URL_ENV} ignored: a SQLite database is one process's")
        redis_url = ""
    if args.workers > 1 and not redis_url:
        store.close()
        raise CommandError(
            "--workers N needs --redis URL (or $TRAVAUX_REDIS_URL): the processes pass each "
            "other's edits through Redis (see docs/DEPLOYMENT.md)"
        )
    if redis_url and store.engine.dialect.name != "postgresql":
        store.close()
        raise CommandError(
            "several server processes share a PostgreSQL database: with --redis, pass "
            "--db postgresql+psycopg://USER@HOST:5432/DBNAME (see docs/DEPLOYMENT.md)"
        )
    limits = Limits.from_env(os.environ)
    # The demo's password is public: by default it is only seeded on a loopback server.
    demo = args.demo if args.demo is not None else _is_loopback(args.host)
    if demo and store.count_texts() == 0:
        from crdt_sync.accounts import Accounts
        from travaux.demo import seed_demo, sign_in_help

        reporter.progress(
            f"the database is empty: seeding the demo negotiation ({DEMO_TEXT.name}) … ", end=""
        )
        seeded = seed_demo(store, Accounts(store))
        reporter.progress(f"done, text {seeded.text_id}")
        print(sign_in_help(seeded), file=sys.stderr)
    url = f"http://{args.host}:{args.port}/"
    several = f", {args.workers} processes" if args.workers > 1 else ""
    fanout = f", fan-out through Redis at {display_url(redis_url)}" if redis_url else ""
    reporter.progress(
        f"Travaux on {url} (texts in {display_url(store.url)}{several}{fanout}); Ctrl+C stops it"
    )
    # What each server process reads when it builds its app (`serve_app`).
    os.environ[SERVE_DB_ENV] = store.url.render_as_string(hide_password=False)
    os.environ[REDIS_URL_ENV] = redis_url
    if args.redis_prefix:
        os.environ[REDIS_PREFIX_ENV] = args.redis_prefix
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "info",
        # uvicorn's sans-I/O implementation (it writes a frame to the socket in one call;
        # the default one awaits a drain per frame), plus a way for the fan-out to write
        # its frames past ASGI (web.frames, docs/PERFORMANCE.md). A stalled client still
        # stops its own sender only.
        "ws": FrameWritingProtocol,
        # Compression costs CPU on both sides at high fan-out for small CRDT updates.
        "ws_per_message_deflate": False,
        # A hard cap for the transport; the room refuses above the limit with its reason.
        "ws_max_size": 2 * limits.max_message_bytes,
        "timeout_graceful_shutdown": 10,
    }
    try:
        if args.workers == 1:
            app = _served_app(store)
            _settle_heap()
            uvicorn.run(app, **options)
        else:
            # N processes accept on one listening socket (opened here, inherited by each);
            # uvicorn restarts one that dies. Each opens its own database pool and Redis
            # connections; they share documents through PostgreSQL and Redis.
            # One history indexer for all of them, started here (`crdt_sync.indexer`).
            os.environ[HISTORY_INDEXING_ENV] = "elsewhere"
            _index_histories_beside(store)
            store.close()
            uvicorn.run("travaux.cli:serve_app", factory=True, workers=args.workers, **options)
    finally:
        store.close()
    return EXIT_OK


def _settle_heap() -> None:
    """Fewer and shorter garbage-collection pauses in a server (each one stops every room):
    what start-up made (modules, the schema, the app) is moved out of the collector's
    sight for good, and the young generation is collected less often. A full collection
    over that heap took 35–75 ms (docs/PERFORMANCE.md)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


SERVE_DB_ENV = "TRAVAUX_SERVE_DB"
REDIS_URL_ENV = "TRAVAUX_REDIS_URL"
REDIS_PREFIX_ENV = "TRAVAUX_REDIS_PREFIX"
HISTORY_POLL_ENV = "TRAVAUX_HISTORY_POLL_SECONDS"  # how often histories are indexed (5)
HISTORY_INDEXING_ENV = "TRAVAUX_HISTORY_INDEXING"  # web.history.INDEXING_MODES (process)


def serve_app() -> Any:
    """The app of one server process of `travaux serve --workers N` (a uvicorn factory:
    each worker process calls it), configured by the variables `cmd_serve` set."""
    app = _served_app(open_store(os.environ[SERVE_DB_ENV]))
    _settle_heap()  # as the single process does, before serving
    return app


def _served_app(store: Store) -> Any:
    from crdt_sync.connection import Limits
    from web.app import create_app

    app = create_app(store, limits=Limits.from_env(os.environ))
    app.state.redis_url = os.environ.get(REDIS_URL_ENV) or None
    app.state.redis_prefix = os.environ.get(REDIS_PREFIX_ENV) or None
    # crdt_sync.indexer: this process's own child, or (--workers N) the one beside them
    app.state.history_indexing_mode = _history_indexing_mode()
    app.state.history_poll_seconds = _history_poll_seconds()
    return app


def _index_histories_beside(store: Store) -> None:
    """Run the history indexer for the worker processes from this one, for as long as it
    lives (a thread with its own event loop supervises the child)."""
    import asyncio
    import threading

    from crdt_sync.indexer import IndexerProcess

    indexer = IndexerProcess(store, poll_seconds=_history_poll_seconds())
    threading.Thread(
        target=asyncio.run, args=(indexer.run(),), name="history-indexer", daemon=True
    ).start()


def _history_poll_seconds() -> float:
    from web.app import HISTORY_POLL_SECONDS

    poll = os.environ.get(HISTORY_POLL_ENV)
    if not poll:
        return HISTORY_POLL_SECONDS
    try:
        return float(poll)
    except ValueError:
        raise CommandError(f"{HISTORY_POLL_ENV}={poll!r} is not a number of seconds") from None


def _history_indexing_mode() -> str:
    from web.history import INDEXING_MODES

    mode = os.environ.get(HISTORY_INDEXING_ENV) or "process"
    if mode not in INDEXING_MODES:
        expected = ", ".join(INDEXING_MODES)
        raise CommandError(f"{HISTORY_INDEXING_ENV}={mode!r}: expected one of {expected}")
    return mode


# -- output -------------------------------------------------------------------------------
def format_statistics(counts: dict[str, Any]) -> str:
    """An aligned two-column table; nested counts (per status, per Party) indented."""
    header = counts.get("title") or "(untitled)"
    if counts.get("kind"):
        header += f" ({counts['kind']})"
    rows = list(_rows({k: v for k, v in counts.items() if k not in ("title", "kind")}, 0))
    width = max((len(label) for label, _ in rows), default=0)
    lines = [header, ""]
    for label, value in rows:
        lines.append(label if value is None else f"{label.ljust(width)}  {value:>8}")
    return "\n".join(lines)


def _rows(counts: dict[str, Any], depth: int) -> Iterator[tuple[str, str | None]]:
    indent = "  " * depth
    for key, value in counts.items():
        label = indent + str(key).replace("_", " ")
        if isinstance(value, dict):
            yield label, None
            if value:
                yield from _rows(value, depth + 1)
            else:
                yield indent + "  (none)", None
        elif isinstance(value, list | tuple):
            yield label, ", ".join(map(str, value)) or "-"
        else:
            yield label, str(value)


# -- arguments ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        help="database to use (SQLAlchemy URL); default: the SQLite file travaux.sqlite3 in "
        f"${DATA_DIR_ENV} or ~/.local/share/travaux",
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages (warnings still shown)"
    )
    file_or_id = {
        "metavar": "FILE_OR_ID",
        "help": "a Markdown file (read directly, not stored) or the id of a stored text",
    }

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub = commands.add_parser(
        "import",
        parents=[common],
        help="store a bracketed text from a Markdown file and print its id",
        description="Read a negotiation text in UNFCCC-style Markdown (preamble, articles, "
        "numbered paragraphs, [brackets], [alternatives][side by side], Option 1:/Option 2: "
        "blocks, {placeholders}), store it and print its new id. Unbalanced brackets are "
        "reported as FILE:LINE:COLUMN warnings and the text is still imported.",
    )
    sub.add_argument("file", metavar="FILE", help="the text to import (UTF-8)")
    sub.add_argument(
        "--negotiation",
        metavar="NEG",
        help="make the text part of this negotiation (`travaux admin list`)",
    )
    sub.set_defaults(run=cmd_import)

    sub = commands.add_parser(
        "list",
        parents=[common],
        help="list the stored texts",
        description="List the stored texts: id, date stored, kind and title.",
    )
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.set_defaults(run=cmd_list)

    sub = commands.add_parser(
        "stats",
        parents=[common],
        help="count clauses, brackets, alternatives, options … of a text",
        description="How far a text is from agreement: clauses, articles, open brackets, "
        "alternatives, options, placeholders, clauses per status and activity per Party.",
    )
    sub.add_argument("text", **file_or_id)
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.set_defaults(run=cmd_stats)

    sub = commands.add_parser(
        "show",
        parents=[common],
        help="print a text, with its brackets or clean",
        description="Print a text as negotiators print it (--bracketed), or the clean text "
        "that would result if every open bracket were settled by a simple rule (--clean).",
    )
    sub.add_argument("text", **file_or_id)
    view = sub.add_mutually_exclusive_group(required=True)
    view.add_argument("--bracketed", action="store_true", help="with every open bracket")
    view.add_argument(
        "--clean",
        action="store_true",
        help="without brackets; the number still open is reported on stderr",
    )
    sub.add_argument(
        "--rule",
        choices=[rule.value for rule in CleanRule],
        default=CleanRule.KEEP.value,
        help="with --clean: keep or drop the words of lone brackets (default: keep); "
        "alternatives and options always take the first",
    )
    sub.add_argument(
        "--parties", action="store_true", help="with --bracketed: name the Party of each bracket"
    )
    sub.set_defaults(run=cmd_show)

    sub = commands.add_parser(
        "serve",
        parents=[common],
        help="start the web server",
        description="Start the web server: a page listing the texts at / and the JSON API "
        "at /api/texts (described at /api/openapi.json).",
    )
    sub.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    sub.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    sub.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (default: %(default)s); more than one "
        "needs --redis and a PostgreSQL --db",
    )
    sub.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help="Redis through which several server processes, on this machine or others, "
        "pass each other's edits, e.g. redis://127.0.0.1:6379/0 (default: "
        "$TRAVAUX_REDIS_URL; none: a single process); needs a PostgreSQL --db",
    )
    sub.add_argument(
        "--redis-prefix",
        metavar="NAME",
        default=None,
        help="prefix of the Redis channel names, for several Travaux installations on one "
        "Redis (default: $TRAVAUX_REDIS_PREFIX or 'travaux')",
    )
    sub.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="when the database is empty, seed a demo negotiation (a short text, its "
        "Parties, one person in each role) that anyone can sign in to (default: on when "
        "--host is a loopback address)",
    )
    sub.set_defaults(run=cmd_serve)
    # Imported here: the export command builds on this module's helpers.
    from travaux.admin_command import add_admin_parser
    from travaux.audit_command import add_audit_parser
    from travaux.export_command import add_export_parser
    from travaux.history_command import add_history_parsers

    add_export_parser(commands, parents=[common])
    add_history_parsers(commands, parents=[common])
    add_audit_parser(commands, parents=[common])
    add_admin_parser(commands, parents=[common])
    return parser


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reporter = Reporter(quiet=args.quiet)
    try:
        return args.run(args, reporter)
    except CommandError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> NoReturn:
    # The reader went away (`travaux show … | head`): stop quietly, and keep Python from
    # complaining while flushing stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_OK)


if __name__ == "__main__":
    sys.exit(main())
