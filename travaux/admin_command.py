"""`travaux admin`: negotiations, their Parties, people, roles and API tokens.

    travaux admin create-negotiation NAME [--party CODE=Name …] [--id ID]    (prints the id)
    travaux admin add-party NEG CODE NAME [--group]
    travaux admin add-person LOGIN --name NAME (--password-stdin | --password PW)
    travaux admin password LOGIN (--password-stdin | --password PW)
    travaux admin disable LOGIN
    travaux admin grant LOGIN NEG ROLE [--party CODE]
    travaux admin revoke LOGIN NEG
    travaux admin grants NEG [ROLE=CAP,CAP …] [--defaults]
    travaux admin attach TEXT NEG
    travaux admin token LOGIN --name NAME [--days N]                    (prints the token once)
    travaux admin revoke-token TOKEN
    travaux admin list [NEG] [--json]

Whoever can run these can write to the database directly anyway: they are for the
operator of the server, at its console. Every change is kept in the audit log, in the name
of `admin:$TRAVAUX_USER` (or `$USER`). Exit codes are those of `travaux`: 2 for bad input
(an unknown negotiation, person, Party or role, a password too short).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from crdt_sync.accounts import (
    MIN_PASSWORD_LENGTH,
    PARTY_KINDS,
    Accounts,
    AccountsError,
    NegotiationInfo,
)
from crdt_sync.audit import AuditAction, AuditError, AuditLog
from crdt_sync.models import utcnow
from crdt_sync.store import Store
from drafting.vocabulary import Capability, Role
from travaux.cli import EXIT_OK, PROG, CommandError, Reporter, open_store

TEXT_ATTACHED = getattr(AuditAction, "TEXT_ATTACHED", "text-attached")


def add_admin_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Register `travaux admin …`; `parents` brings `--db` and `-q` (given to each admin
    command rather than to `admin`, where argparse would let the command's default win)."""
    admin = subparsers.add_parser(
        "admin",
        help="negotiations, Parties, people, roles and API tokens",
        description="Set up negotiations: their Parties (delegations and groups), the people "
        "who sign in, the role each has in each negotiation, and API tokens for scripts. "
        "Changes are recorded in the audit log.",
    )
    commands = admin.add_subparsers(dest="admin_command", metavar="ADMIN_COMMAND", required=True)
    parents = list(parents)
    negotiation = {"metavar": "NEG", "help": "a negotiation id (`travaux admin list`)"}
    login = {"metavar": "LOGIN", "help": "what the person types to sign in (an e-mail address)"}
    roles = ", ".join(repr(r.value) for r in Role)

    sub = commands.add_parser(
        "create-negotiation",
        parents=parents,
        help="create a negotiation and print its id",
        description="Create a negotiation (a conference, a committee), optionally with its "
        "Parties, and print its id.",
    )
    sub.add_argument("name", metavar="NAME", help='e.g. "COP 31 – Paris Agreement work programme"')
    sub.add_argument(
        "--party",
        action="append",
        default=[],
        metavar="CODE=Name",
        help='a delegation, e.g. --party "EU=European Union" (repeat for more)',
    )
    sub.add_argument("--id", help="the id to give it (default: a random one)")
    sub.set_defaults(run=cmd_create_negotiation)

    sub = commands.add_parser(
        "add-party",
        parents=parents,
        help="add a delegation or a negotiating group to a negotiation",
        description="Add a Party to a negotiation: a delegation (a State, the EU) or, with "
        "--group, a negotiating group such as G77/China or AOSIS.",
    )
    sub.add_argument("negotiation", **negotiation)
    sub.add_argument("code", metavar="CODE", help="as texts attribute proposals: EU, G77/China")
    sub.add_argument("name", metavar="NAME", help='e.g. "European Union"')
    sub.add_argument("--group", action="store_true", help="a negotiating group")
    sub.set_defaults(run=cmd_add_party)

    for name, helps in (
        ("add-person", "create someone who can sign in"),
        ("password", "set someone's password (their browser sessions end)"),
    ):
        sub = commands.add_parser(name, parents=parents, help=helps, description=helps + ".")
        sub.add_argument("login", **login)
        if name == "add-person":
            sub.add_argument("--name", required=True, help="their name, as others see it")
        given = sub.add_mutually_exclusive_group(required=True)
        given.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin (recommended)",
        )
        given.add_argument(
            "--password",
            metavar="PW",
            help=f"the password (at least {MIN_PASSWORD_LENGTH} characters); other users of "
            "this machine may see it in the process list",
        )
        sub.set_defaults(run=cmd_add_person if name == "add-person" else cmd_password)

    sub = commands.add_parser(
        "disable",
        parents=parents,
        help="stop someone signing in (their sessions and tokens are revoked)",
        description="Disable a person: they can no longer sign in, and their sessions and "
        "API tokens are revoked at once. Their roles are kept for the record.",
    )
    sub.add_argument("login", **login)
    sub.set_defaults(run=cmd_disable)

    sub = commands.add_parser(
        "grant",
        parents=parents,
        help="give someone a role in a negotiation",
        description=f"Give a person a role in a negotiation ({roles}), replacing the one "
        "they had there. A delegate or a delegation viewer acts for a Party (--party).",
    )
    sub.add_argument("login", **login)
    sub.add_argument("negotiation", **negotiation)
    sub.add_argument("role", metavar="ROLE", help=roles)
    sub.add_argument("--party", default="", metavar="CODE", help="the Party they act for")
    sub.set_defaults(run=cmd_grant)

    sub = commands.add_parser(
        "revoke",
        parents=parents,
        help="take someone's role in a negotiation away",
        description="Take a person's role in a negotiation away; a running server closes "
        "their connections to its texts.",
    )
    sub.add_argument("login", **login)
    sub.add_argument("negotiation", **negotiation)
    sub.set_defaults(run=cmd_revoke)

    capabilities = ", ".join(c.value for c in Capability)
    sub = commands.add_parser(
        "grants",
        parents=parents,
        help="change what each role may do in a negotiation",
        description="Say what a role may do in this negotiation, e.g. "
        '"delegate=read,table,export" or "observer=" (nothing). Roles not named keep their '
        f"defaults. Capabilities: {capabilities}. Without ROLE=…, print the current grants.",
    )
    sub.add_argument("negotiation", **negotiation)
    sub.add_argument("grants", nargs="*", metavar="ROLE=CAP,CAP")
    sub.add_argument("--defaults", action="store_true", help="first restore every default")
    sub.set_defaults(run=cmd_grants)

    sub = commands.add_parser(
        "attach",
        parents=parents,
        help="make a stored text part of a negotiation",
        description="Attach a stored text to a negotiation: only its members may open it.",
    )
    sub.add_argument("text", metavar="TEXT", help="the id of a stored text (`travaux list`)")
    sub.add_argument("negotiation", **negotiation)
    sub.set_defaults(run=cmd_attach)

    sub = commands.add_parser(
        "token",
        parents=parents,
        help="make an API token for someone's scripts (printed once)",
        description="Make an API token that signs scripts in as this person "
        "(Authorization: Bearer TOKEN). It is printed once: only its hash is kept.",
    )
    sub.add_argument("login", **login)
    sub.add_argument("--name", required=True, help='what it is for, e.g. "nightly export"')
    sub.add_argument("--days", type=int, help="expire after this many days (default: never)")
    sub.set_defaults(run=cmd_token)

    sub = commands.add_parser(
        "revoke-token",
        parents=parents,
        help="revoke an API token",
        description="Revoke an API token (given whole): scripts using it are refused.",
    )
    sub.add_argument("token", metavar="TOKEN")
    sub.set_defaults(run=cmd_revoke_token)

    sub = commands.add_parser(
        "list",
        parents=parents,
        help="negotiations, their Parties, texts, people and roles",
        description="List the negotiations (or one), with their Parties, texts, and people "
        "with their roles; then the people with no role anywhere.",
    )
    sub.add_argument("negotiation", nargs="?", **negotiation)
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(run=cmd_list)


# -- commands ---------------------------------------------------------------------------------


def cmd_create_negotiation(args: argparse.Namespace, reporter: Reporter) -> int:
    parties = [_party_argument(value) for value in args.party]
    with _accounts(args) as (accounts, audit):
        negotiation_id = _call(
            accounts.create_negotiation, args.name, parties, negotiation_id=args.id
        )
        audit.record(
            AuditAction.NEGOTIATION_CREATED,
            person=_admin(),
            negotiation_id=negotiation_id,
            target=args.name,
            detail={"parties": [code for code, _ in parties]},
        )
    print(negotiation_id)
    return EXIT_OK


def cmd_add_party(args: argparse.Namespace, reporter: Reporter) -> int:
    kind = PARTY_KINDS[1] if args.group else PARTY_KINDS[0]
    with _accounts(args) as (accounts, audit):
        _call(accounts.add_party, args.negotiation, args.code, args.name, kind)
        audit.record(
            AuditAction.PARTY_ADDED,
            person=_admin(),
            negotiation_id=args.negotiation,
            target=args.code,
            detail={"kind": kind},
        )
    reporter.progress(f"{kind} {args.code} added to {args.negotiation}")
    return EXIT_OK


def cmd_add_person(args: argparse.Namespace, reporter: Reporter) -> int:
    password = _password(args)
    with _accounts(args) as (accounts, audit):
        person_id = _call(accounts.create_person, args.login, args.name, password)
        audit.record(
            AuditAction.PERSON_CREATED,
            person=_admin(),
            target=accounts.person(person_id).login,
            detail={"person_id": person_id},
        )
    print(person_id)
    return EXIT_OK


def cmd_password(args: argparse.Namespace, reporter: Reporter) -> int:
    password = _password(args)
    with _accounts(args) as (accounts, _audit):
        _call(accounts.set_password, args.login, password)
    reporter.progress(f"password of {args.login} changed; their browser sessions have ended")
    return EXIT_OK


def cmd_disable(args: argparse.Namespace, reporter: Reporter) -> int:
    with _accounts(args) as (accounts, audit):
        _call(accounts.disable_person, args.login)
        person = accounts.person(args.login)
        audit.record(
            AuditAction.PERSON_DISABLED,
            person=_admin(),
            target=person.login,
            detail={"person_id": person.id},
        )
    reporter.progress(f"{person.login} can no longer sign in; their sessions and tokens ended")
    return EXIT_OK


def cmd_grant(args: argparse.Namespace, reporter: Reporter) -> int:
    with _accounts(args) as (accounts, audit):
        _call(accounts.grant, args.login, args.negotiation, args.role, args.party)
        person = accounts.person(args.login)
        membership = accounts.membership(person.id, args.negotiation)
        assert membership is not None  # just granted
        audit.record(
            AuditAction.MEMBERSHIP_GRANTED,
            person=_admin(),
            negotiation_id=args.negotiation,
            target=person.login,
            detail={
                "person_id": person.id,
                "role": membership.role.value,
                "party": membership.party,
            },
        )
    reporter.progress(f"{person.login}: {_role_phrase(membership.role, membership.party)}")
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace, reporter: Reporter) -> int:
    with _accounts(args) as (accounts, audit):
        person = _call(accounts.person, args.login)
        before = accounts.membership(person.id, args.negotiation)
        _call(accounts.revoke, args.login, args.negotiation)
        audit.record(
            AuditAction.MEMBERSHIP_REVOKED,
            person=_admin(),
            negotiation_id=args.negotiation,
            target=person.login,
            detail={
                "person_id": person.id,
                "role": before.role.value if before else "",
                "party": before.party if before else "",
            },
        )
    reporter.progress(f"{person.login} has no role in {args.negotiation} any more")
    return EXIT_OK


def cmd_grants(args: argparse.Namespace, reporter: Reporter) -> int:
    with _accounts(args) as (accounts, audit):
        current = _call(accounts.negotiation, args.negotiation).grants
        if args.grants or args.defaults:
            table = {} if args.defaults else dict(current)
            for value in args.grants:
                role, capabilities = _grant_argument(value)
                table[role] = capabilities
            _call(accounts.set_grants, args.negotiation, table)
            current = accounts.negotiation(args.negotiation).grants
            audit.record(
                AuditAction.GRANTS_CHANGED,
                person=_admin(),
                negotiation_id=args.negotiation,
                detail={"grants": _grants_json(current)},
            )
    from drafting.permissions import DEFAULT_CAPABILITIES

    for role in Role:
        capabilities = current.get(role, DEFAULT_CAPABILITIES[role])
        mark = "" if role not in current else "   (changed here)"
        print(f"{role.value:<18} {', '.join(sorted(capabilities)) or '-'}{mark}")
    return EXIT_OK


def cmd_attach(args: argparse.Namespace, reporter: Reporter) -> int:
    with _accounts(args) as (accounts, audit):
        _attach(accounts, audit, args.text, args.negotiation)
    reporter.progress(f"text {args.text} is part of negotiation {args.negotiation}")
    return EXIT_OK


def check_negotiation(store: Store, negotiation_id: str) -> None:
    """CommandError unless the negotiation exists (`travaux import --negotiation`)."""
    _call(Accounts(store).negotiation, negotiation_id)


def attach_text(store: Store, text_id: str, negotiation_id: str) -> None:
    """Attach a text and record it (`travaux import --negotiation`)."""
    try:
        _attach(Accounts(store), AuditLog(store), text_id, negotiation_id)
    except AuditError as error:
        raise CommandError(
            f"the text was attached but not recorded in the audit log: {error}"
        ) from None


def _attach(accounts: Accounts, audit: AuditLog, text_id: str, negotiation_id: str) -> None:
    _call(accounts.attach_text, text_id, negotiation_id)
    # No AuditAction names this yet; the log takes any action name.
    audit.record(TEXT_ATTACHED, person=_admin(), negotiation_id=negotiation_id, text_id=text_id)


def cmd_token(args: argparse.Namespace, reporter: Reporter) -> int:
    if args.days is not None and args.days < 1:
        raise CommandError(f"--days must be at least 1, not {args.days}")
    expires = utcnow() + timedelta(days=args.days) if args.days is not None else None
    with _accounts(args) as (accounts, audit):
        token = _call(accounts.create_token, args.login, args.name, expires=expires)
        info = accounts.token_info(token)
        audit.record(
            AuditAction.TOKEN_CREATED,
            person=_admin(),
            target=accounts.person(info.person_id).login,
            detail={
                "token_id": info.id,
                "token_name": info.name,
                "token_expires": info.expires.isoformat() if info.expires else None,
            },
        )
    print(token)
    reporter.progress("keep it now: it is not shown again (only its hash is stored)")
    return EXIT_OK


def cmd_revoke_token(args: argparse.Namespace, reporter: Reporter) -> int:
    with _accounts(args) as (accounts, audit):
        info = _call(accounts.token_info, args.token.strip())
        accounts.revoke_token(args.token.strip())
        audit.record(
            AuditAction.TOKEN_REVOKED,
            person=_admin(),
            target=accounts.person(info.person_id).login,
            detail={"token_id": info.id, "token_name": info.name},
        )
    reporter.progress(f"token {info.name!r} revoked")
    return EXIT_OK


def cmd_list(args: argparse.Namespace, reporter: Reporter) -> int:
    with _accounts(args) as (accounts, _audit):
        if args.negotiation:
            negotiations = [_call(accounts.negotiation, args.negotiation)]
        else:
            negotiations = accounts.negotiations()
        listed = [_negotiation_json(accounts, n) for n in negotiations]
        roleless = []
        if not args.negotiation:
            members = {m["person_id"] for n in listed for m in n["people"]}
            roleless = [
                {"person_id": p.id, "login": p.login, "name": p.name, "disabled": p.disabled}
                for p in accounts.people()
                if p.id not in members
            ]
    if args.json:
        body: dict[str, Any] = {"negotiations": listed}
        if not args.negotiation:
            body["people_without_a_role"] = roleless
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not listed:
        reporter.note(f'no negotiations yet; `{PROG} admin create-negotiation "NAME"` makes one')
    people = [m for n in listed for m in n["people"]] + roleless
    login_width = max((len(p["login"]) for p in people), default=0)
    name_width = max((len(p["name"]) for p in people), default=0)
    for n in listed:
        print(f"{n['id']}  {n['name']}")
        for party in n["parties"]:
            kind = " (group)" if party["kind"] == "group" else ""
            print(f"  Party   {party['code']:<12} {party['name']}{kind}")
        for text in n["texts"]:
            print(f"  text    {text}")
        for m in n["people"]:
            off = "  [disabled]" if m["disabled"] else ""
            phrase = _role_phrase(Role(m["role"]), m["party"])
            print(
                f"  person  {m['login']:<{login_width}}  {m['name']:<{name_width}}  {phrase}{off}"
            )
        for role, capabilities in n["grants"].items():
            print(f"  grants  {role}: {', '.join(capabilities) or '-'}")
    for p in roleless:
        off = "  [disabled]" if p["disabled"] else ""
        print(f"no role   {p['login']:<{login_width}}  {p['name']}{off}")
    return EXIT_OK


# -- helpers ----------------------------------------------------------------------------------


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[tuple[Accounts, AuditLog]]:
    store: Store = open_store(args.db)
    try:
        yield Accounts(store), AuditLog(store)
    except AuditError as error:  # a bug rather than bad input: say exactly what happened
        raise CommandError(
            f"the change was made but not recorded in the audit log: {error}"
        ) from None
    finally:
        store.close()


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """An Accounts call whose refusals become one-line messages (exit 2)."""
    try:
        return function(*args, **kwargs)
    except AccountsError as error:
        raise CommandError(str(error)) from None


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    line = sys.stdin.readline()
    if not line:
        raise CommandError("--password-stdin: nothing on stdin (pipe the password in)")
    return line.rstrip("\r\n")


def _party_argument(value: str) -> tuple[str, str]:
    code, equals, name = value.partition("=")
    if not equals or not code.strip() or not name.strip():
        raise CommandError(f'--party {value!r}: expected CODE=Name, e.g. "EU=European Union"')
    return code.strip(), name.strip()


def _grant_argument(value: str) -> tuple[Role, frozenset[Capability]]:
    role, equals, capabilities = value.partition("=")
    if not equals:
        raise CommandError(f"{value!r}: expected ROLE=CAP,CAP, e.g. delegate=read,table,export")
    try:
        parsed_role = Role(role.strip())
    except ValueError:
        raise CommandError(
            f"no role {role.strip()!r} (roles: {', '.join(r.value for r in Role)})"
        ) from None
    parsed: set[Capability] = set()
    for capability in filter(None, (c.strip() for c in capabilities.split(","))):
        try:
            parsed.add(Capability(capability))
        except ValueError:
            known = ", ".join(c.value for c in Capability)
            raise CommandError(f"no capability {capability!r} (capabilities: {known})") from None
    return parsed_role, frozenset(parsed)


def _negotiation_json(accounts: Accounts, negotiation: NegotiationInfo) -> dict[str, Any]:
    return {
        "id": negotiation.id,
        "name": negotiation.name,
        "rights_version": negotiation.rights_version,
        "grants": _grants_json(negotiation.grants),
        "parties": [
            {"code": p.code, "name": p.name, "kind": p.kind}
            for p in accounts.parties(negotiation.id)
        ],
        "texts": accounts.texts_of(negotiation.id),
        "people": [
            {
                "person_id": person.id,
                "login": person.login,
                "name": person.name,
                "role": membership.role.value,
                "party": membership.party,
                "disabled": person.disabled,
            }
            for person, membership in accounts.members(negotiation.id)
        ],
    }


def _grants_json(grants: dict[Role, frozenset[Capability]]) -> dict[str, list[str]]:
    return {role.value: sorted(c.value for c in caps) for role, caps in sorted(grants.items())}


def _role_phrase(role: Role, party: str) -> str:
    return f"{role.value} for {party}" if party else role.value


def _admin() -> str:
    """Who made a change from the command line, for the audit log."""
    return "admin:" + (os.environ.get("TRAVAUX_USER") or os.environ.get("USER") or "unknown")
