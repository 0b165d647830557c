"""Who may sign in, and what they may do in which negotiation.

    accounts = Accounts(store)
    negotiation = accounts.create_negotiation("COP 31", [("EU", "European Union")])
    accounts.create_person("eu@example.org", "A. Delegate", "a long password")
    accounts.grant("eu@example.org", negotiation, Role.DELEGATE, party="EU")
    signed_in = accounts.sign_in("eu@example.org", "a long password")   # the cookie
    identity, csrf = accounts.authenticate_session(signed_in.session_token)
    membership = accounts.membership(identity.person_id, negotiation)   # .actor judges updates

Passwords are hashed with Argon2id (argon2-cffi) and never kept or logged in clear. Session
cookies and API tokens are random; the database keeps only their SHA-256, so a copy of it
does not let anyone sign in. Every change that can take rights away from a live connection
(a membership, a negotiation's grants, a text moved, a person disabled, a session or token
revoked) increments `NegotiationRow.rights_version`, which every server process polls
(`rights_versions`) to re-judge its connections with `membership` and `still_valid`.

Nothing here writes the audit log: the callers know who did it (the web layer records
sign-ins, `travaux admin` records membership changes).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crdt_sync.models import (
    NAME_LENGTH,
    PARTY_LENGTH,
    TEXT_ID_LENGTH,
    ApiTokenRow,
    MembershipRow,
    NegotiationPartyRow,
    NegotiationRow,
    PersonRow,
    SessionRow,
    TextRow,
    utcnow,
)
from crdt_sync.store import Store, new_text_id
from drafting.permissions import Actor
from drafting.vocabulary import Capability, Role

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "trv_"  # tells an API token from a session cookie, and is easy to grep for leaks
PARTY_KINDS = ("delegation", "group")
# Roles that act in a Party's name and so cannot exist without one.
ROLES_OF_A_PARTY = (Role.DELEGATE, Role.DELEGATION_VIEWER)
# A busy page or script authenticates many times a minute; one write a minute is enough
# for the idle timeout and for "last used" to mean something.
TOUCH_INTERVAL = timedelta(minutes=1)

# Party codes appear in scopes ("balloons:parties:AOSIS+EU") and attributions ("[EU: …]"):
# no spaces, and none of the separators those use. "G77/China" is fine.
_PARTY_CODE = re.compile(r"[^\s+:,\[\]]+")
_NEGOTIATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SIGN_IN_REFUSED = "sign-in refused: unknown login or wrong password"


class AccountsError(ValueError):
    """Bad input to an administration or sign-in call; the message says what and where."""


class NotSignedIn(AccountsError):
    """The credential is unknown, expired or revoked, or its person is disabled."""


class SignInRefused(AccountsError):
    """Wrong login or password: the same message for both, so that logins cannot be probed."""


@dataclass(frozen=True)
class Identity:
    person_id: str
    login: str
    name: str
    # "session:<row id>" or "token:<row id>": what a live connection re-checks
    # (`Accounts.still_valid`) when rights change.
    credential: str


@dataclass(frozen=True)
class Membership:
    negotiation_id: str
    person_id: str
    party: str  # "" for roles acting for no Party
    role: Role
    actor: Actor  # with this negotiation's grants applied


@dataclass(frozen=True)
class SignedIn:
    identity: Identity
    session_token: str  # goes in the cookie; only its SHA-256 is stored
    csrf_token: str
    expires: datetime


@dataclass(frozen=True)
class PartyInfo:
    code: str
    name: str
    kind: str  # "delegation" | "group"


@dataclass(frozen=True)
class PersonInfo:
    id: str
    login: str
    name: str
    disabled: bool
    created: datetime


@dataclass(frozen=True)
class NegotiationInfo:
    id: str
    name: str
    rights_version: int
    grants: dict[Role, frozenset[Capability]]  # only the roles regranted here
    created: datetime


@dataclass(frozen=True)
class TokenInfo:
    id: int
    person_id: str
    name: str
    created: datetime
    expires: datetime | None
    revoked: datetime | None
    last_used: datetime | None


def token_hash(token: str) -> str:
    """What the database keeps of a session cookie or an API token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_login(login: str) -> str:
    """Logins are e-mail addresses in practice: "EU@Demo " and "eu@demo" are one person."""
    return login.strip().lower()


class Accounts:
    def __init__(
        self,
        store: Store,
        *,
        session_idle: timedelta = timedelta(hours=12),
        session_lifetime: timedelta = timedelta(days=7),
        clock: Callable[[], datetime] = utcnow,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        self.store = store
        self.session_idle = session_idle
        self.session_lifetime = session_lifetime
        self.clock = clock
        # argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile; tests
        # may pass a cheaper hasher (still Argon2id).
        self.hasher = password_hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    def _session(self, *, write: bool) -> Session:
        return self.store._session(write=write)

    # -- negotiations and Parties ---------------------------------------------------------
    def create_negotiation(
        self,
        name: str,
        parties: Sequence[tuple[str, str]] = (),
        *,
        negotiation_id: str | None = None,
    ) -> str:
        """Create a negotiation with its Parties (code, name); return its id."""
        name = _required(name, "a negotiation's name")
        if negotiation_id is not None:
            _check_negotiation_id(negotiation_id)
        parties = [
            (_check_party_code(code), _required(n, f"Party {code!r}'s name")) for code, n in parties
        ]
        codes = [code for code, _ in parties]
        for code in set(codes):
            if codes.count(code) > 1:
                raise AccountsError(f"Party {code!r} is given twice")
        with self._session(write=True) as session, session.begin():
            if negotiation_id is None:
                negotiation_id = new_text_id()
                while session.get(NegotiationRow, negotiation_id) is not None:
                    negotiation_id = new_text_id()
            elif session.get(NegotiationRow, negotiation_id) is not None:
                raise AccountsError(f"there is already a negotiation with id {negotiation_id!r}")
            session.add(
                NegotiationRow(
                    id=negotiation_id, name=name, grants="", rights_version=0, created=self.clock()
                )
            )
            session.flush()
            for code, party_name in parties:
                session.add(
                    NegotiationPartyRow(
                        negotiation_id=negotiation_id, code=code, name=party_name, kind="delegation"
                    )
                )
        return negotiation_id

    def add_party(
        self, negotiation_id: str, code: str, name: str, kind: str = "delegation"
    ) -> None:
        code = _check_party_code(code)
        name = _required(name, f"Party {code!r}'s name")
        if kind not in PARTY_KINDS:
            raise AccountsError(f"a Party is a delegation or a group, not {kind!r}")
        with self._session(write=True) as session, session.begin():
            self._negotiation_row(session, negotiation_id)
            if self._party_codes(session, negotiation_id).count(code):
                raise AccountsError(f"negotiation {negotiation_id!r} already has Party {code!r}")
            session.add(
                NegotiationPartyRow(negotiation_id=negotiation_id, code=code, name=name, kind=kind)
            )

    def parties(self, negotiation_id: str) -> list[PartyInfo]:
        """The Parties of a negotiation, in the order they were added."""
        with self._session(write=False) as session:
            self._negotiation_row(session, negotiation_id)
            rows = session.scalars(
                select(NegotiationPartyRow)
                .where(NegotiationPartyRow.negotiation_id == negotiation_id)
                .order_by(NegotiationPartyRow.id)
            )
            return [PartyInfo(row.code, row.name, row.kind) for row in rows]

    def negotiation(self, negotiation_id: str) -> NegotiationInfo:
        with self._session(write=False) as session:
            return _negotiation_info(self._negotiation_row(session, negotiation_id))

    def negotiations(self) -> list[NegotiationInfo]:
        """Every negotiation, oldest first."""
        with self._session(write=False) as session:
            rows = session.scalars(
                select(NegotiationRow).order_by(NegotiationRow.created, NegotiationRow.id)
            )
            return [_negotiation_info(row) for row in rows]

    def set_grants(self, negotiation_id: str, grants: Mapping[Role, Iterable[Capability]]) -> None:
        """What each role may do in this negotiation; roles not named keep the defaults of
        `drafting.permissions.DEFAULT_CAPABILITIES`, and an empty mapping restores them."""
        table: dict[str, list[str]] = {}
        for role, capabilities in grants.items():
            role = _role(role)
            table[role.value] = sorted(_capability(c).value for c in capabilities)
        with self._session(write=True) as session, session.begin():
            row = self._negotiation_row(session, negotiation_id)
            row.grants = json.dumps(table, sort_keys=True) if table else ""
            self._bump(session, [negotiation_id])

    def attach_text(self, text_id: str, negotiation_id: str) -> None:
        """Make a text part of a negotiation: only its members may then open it."""
        with self._session(write=True) as session, session.begin():
            self._negotiation_row(session, negotiation_id)
            text = session.get(TextRow, text_id)
            if text is None:
                raise AccountsError(f"no text with id {text_id!r} in this database")
            if text.parent_id is not None:
                raise AccountsError(
                    f"{text_id!r} is a scoped document of text {text.parent_id!r}: it belongs "
                    "to that text's negotiation; attach the text instead"
                )
            previous = text.negotiation_id
            text.negotiation_id = negotiation_id
            # Whoever could open it through its former negotiation no longer may.
            self._bump(session, [n for n in (previous, negotiation_id) if n])

    def negotiation_of(self, text_id: str) -> str | None:
        """The negotiation a text belongs to; a scoped document (balloons, a workspace)
        belongs to its parent text's. None for an unknown text or one outside any."""
        with self._session(write=False) as session:
            text = session.get(TextRow, text_id)
            if text is not None and text.parent_id is not None:
                text = session.get(TextRow, text.parent_id)
            return None if text is None else text.negotiation_id

    def texts_of(self, negotiation_id: str) -> list[str]:
        """The ids of a negotiation's texts (not their scoped documents), oldest first."""
        with self._session(write=False) as session:
            return list(
                session.scalars(
                    select(TextRow.id)
                    .where(TextRow.negotiation_id == negotiation_id, TextRow.parent_id.is_(None))
                    .order_by(TextRow.created, TextRow.id)
                )
            )

    def rights_versions(self) -> dict[str, int]:
        """Negotiation id → rights version; a server re-judges a negotiation's live
        connections whenever its number changes."""
        with self._session(write=False) as session:
            rows = session.execute(select(NegotiationRow.id, NegotiationRow.rights_version))
            return {negotiation_id: version for negotiation_id, version in rows}

    # -- people ---------------------------------------------------------------------------
    def create_person(self, login: str, name: str, password: str) -> str:
        """Create someone who can sign in; return their id."""
        login = _check_login(login)
        name = _required(name, f"the name of {login!r}")
        password_hash = self._hash_password(password)
        with self._session(write=True) as session, session.begin():
            if session.scalar(select(PersonRow.id).where(PersonRow.login == login)):
                raise AccountsError(f"there is already a person with login {login!r}")
            person_id = new_text_id()
            while session.get(PersonRow, person_id) is not None:
                person_id = new_text_id()
            session.add(
                PersonRow(
                    id=person_id,
                    login=login,
                    name=name,
                    password_hash=password_hash,
                    disabled=False,
                    created=self.clock(),
                )
            )
            try:
                session.flush()
            except IntegrityError:  # created by someone else in the meantime
                raise AccountsError(f"there is already a person with login {login!r}") from None
        return person_id

    def set_password(self, login: str, password: str) -> None:
        """Change a password; every browser signed in as them must sign in again (a
        password is usually changed because someone else may know it). API tokens stay."""
        password_hash = self._hash_password(password)
        now = self.clock()
        with self._session(write=True) as session, session.begin():
            person = self._person_row(session, login)
            person.password_hash = password_hash
            self._revoke_sessions(session, person.id, now)
            self._bump(session, self._negotiations_of(session, person.id))

    def disable_person(self, login: str) -> None:
        """Nobody can sign in as them any more; their sessions and tokens are revoked.
        Their memberships stay, for the record and in case they are enabled again."""
        now = self.clock()
        with self._session(write=True) as session, session.begin():
            person = self._person_row(session, login)
            person.disabled = True
            self._revoke_sessions(session, person.id, now)
            session.execute(
                update(ApiTokenRow)
                .where(ApiTokenRow.person_id == person.id, ApiTokenRow.revoked.is_(None))
                .values(revoked=now)
            )
            self._bump(session, self._negotiations_of(session, person.id))

    def enable_person(self, login: str) -> None:
        with self._session(write=True) as session, session.begin():
            self._person_row(session, login).disabled = False

    def person(self, login_or_id: str) -> PersonInfo:
        """A person by login or by id."""
        with self._session(write=False) as session:
            return _person_info(self._person_row(session, login_or_id))

    def people(self) -> list[PersonInfo]:
        with self._session(write=False) as session:
            rows = session.scalars(select(PersonRow).order_by(PersonRow.login))
            return [_person_info(row) for row in rows]

    # -- memberships ----------------------------------------------------------------------
    def grant(self, login: str, negotiation_id: str, role: Role | str, party: str = "") -> None:
        """Give someone a role in a negotiation (replacing the one they had there).
        Delegates and delegation viewers act for a Party of the negotiation; the other
        roles may act for none."""
        role = _role(role)
        party = party.strip()
        with self._session(write=True) as session, session.begin():
            self._negotiation_row(session, negotiation_id)
            person = self._person_row(session, login)
            codes = self._party_codes(session, negotiation_id)
            if party and party not in codes:
                raise AccountsError(
                    f"no Party {party!r} in negotiation {negotiation_id!r} ({_its_parties(codes)})"
                )
            if not party and role in ROLES_OF_A_PARTY:
                raise AccountsError(
                    f"{_a(role.value)} acts for a Party: name one of negotiation "
                    f"{negotiation_id!r} ({_its_parties(codes)})"
                )
            row = session.scalar(
                select(MembershipRow).where(
                    MembershipRow.person_id == person.id,
                    MembershipRow.negotiation_id == negotiation_id,
                )
            )
            if row is None:
                session.add(
                    MembershipRow(
                        person_id=person.id,
                        negotiation_id=negotiation_id,
                        party=party,
                        role=role.value,
                        created=self.clock(),
                    )
                )
            elif (row.role, row.party) == (role.value, party):
                return  # nothing changes: live connections need not be re-judged
            else:
                row.role, row.party = role.value, party
            self._bump(session, [negotiation_id])

    def revoke(self, login: str, negotiation_id: str) -> None:
        """Take someone's role in a negotiation away; their live connections to its texts
        are closed when the servers notice the new rights version."""
        with self._session(write=True) as session, session.begin():
            self._negotiation_row(session, negotiation_id)
            person = self._person_row(session, login)
            row = session.scalar(
                select(MembershipRow).where(
                    MembershipRow.person_id == person.id,
                    MembershipRow.negotiation_id == negotiation_id,
                )
            )
            if row is None:
                raise AccountsError(
                    f"{person.login!r} has no role in negotiation {negotiation_id!r}"
                )
            session.delete(row)
            self._bump(session, [negotiation_id])

    def membership(self, person_id: str, negotiation_id: str) -> Membership | None:
        with self._session(write=False) as session:
            found = session.execute(
                select(MembershipRow, NegotiationRow.grants)
                .join(NegotiationRow, NegotiationRow.id == MembershipRow.negotiation_id)
                .where(
                    MembershipRow.person_id == person_id,
                    MembershipRow.negotiation_id == negotiation_id,
                )
            ).first()
            return None if found is None else _membership(*found)

    def memberships(self, person_id: str) -> list[Membership]:
        """Every negotiation the person has a role in, by negotiation id."""
        with self._session(write=False) as session:
            found = session.execute(
                select(MembershipRow, NegotiationRow.grants)
                .join(NegotiationRow, NegotiationRow.id == MembershipRow.negotiation_id)
                .where(MembershipRow.person_id == person_id)
                .order_by(MembershipRow.negotiation_id)
            )
            return [_membership(row, grants) for row, grants in found]

    def members(self, negotiation_id: str) -> list[tuple[PersonInfo, Membership]]:
        """The people of a negotiation and their roles, by login."""
        with self._session(write=False) as session:
            negotiation = self._negotiation_row(session, negotiation_id)
            found = session.execute(
                select(PersonRow, MembershipRow)
                .join(MembershipRow, MembershipRow.person_id == PersonRow.id)
                .where(MembershipRow.negotiation_id == negotiation_id)
                .order_by(PersonRow.login)
            )
            return [
                (_person_info(person), _membership(row, negotiation.grants))
                for person, row in found
            ]

    # -- signing in -----------------------------------------------------------------------
    def sign_in(self, login: str, password: str) -> SignedIn:
        """Check a password and open a browser session."""
        login = normalise_login(login)
        with self._session(write=False) as session:
            person = session.scalar(select(PersonRow).where(PersonRow.login == login))
            stored = person.password_hash if person is not None else None
        # An unknown login costs the same hashing as a known one: the time taken must not
        # tell whether a login exists.
        if not self._verify(stored or self._dummy(), password) or person is None:
            raise SignInRefused(_SIGN_IN_REFUSED)
        if person.disabled:
            # Said only to whoever knows the password: a probe learns nothing.
            raise SignInRefused("sign-in refused: this account is disabled")
        rehash = self.hasher.check_needs_rehash(person.password_hash)
        session_token = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.session_lifetime
        with self._session(write=True) as session, session.begin():
            if rehash:  # parameters raised since the hash was made
                current = session.get(PersonRow, person.id)
                if current is not None:
                    current.password_hash = self.hasher.hash(password)
            row = SessionRow(
                token_hash=token_hash(session_token),
                person_id=person.id,
                csrf_token=csrf_token,
                created=now,
                last_seen=now,
                expires=expires,
                revoked=None,
            )
            session.add(row)
            session.flush()
            identity = Identity(person.id, person.login, person.name, f"session:{row.id}")
        return SignedIn(identity, session_token, csrf_token, expires)

    def sign_out(self, session_token: str) -> None:
        """Revoke a session: its cookie no longer signs anyone in, even if replayed."""
        now = self.clock()
        with self._session(write=True) as session, session.begin():
            row = session.scalar(
                select(SessionRow).where(SessionRow.token_hash == token_hash(session_token))
            )
            if row is None or row.revoked is not None:
                return  # signing out twice, or with a stale cookie, is not an error
            row.revoked = now
            self._bump(session, self._negotiations_of(session, row.person_id))

    def authenticate_session(self, session_token: str) -> tuple[Identity, str]:
        """Who a session cookie signs in, and the CSRF token their forms must carry."""
        now = self.clock()
        with self._session(write=False) as session:
            found = session.execute(
                select(SessionRow, PersonRow)
                .join(PersonRow, PersonRow.id == SessionRow.person_id)
                .where(SessionRow.token_hash == token_hash(session_token))
            ).first()
        if found is None:
            raise NotSignedIn("not signed in: unknown session")
        row, person = found
        if row.revoked is not None:
            raise NotSignedIn("not signed in: the session was signed out")
        if person.disabled:
            raise NotSignedIn("not signed in: the account is disabled")
        if now >= row.expires:
            raise NotSignedIn("not signed in: the session expired; sign in again")
        if now - row.last_seen >= self.session_idle:
            raise NotSignedIn("not signed in: the session expired after inactivity")
        if now - row.last_seen >= TOUCH_INTERVAL:
            with self._session(write=True) as session, session.begin():
                session.execute(
                    update(SessionRow).where(SessionRow.id == row.id).values(last_seen=now)
                )
        identity = Identity(person.id, person.login, person.name, f"session:{row.id}")
        return identity, row.csrf_token

    # -- API tokens -----------------------------------------------------------------------
    def create_token(self, login: str, name: str, *, expires: datetime | None = None) -> str:
        """A new API token for a person's scripts; shown once, only its hash is kept."""
        name = _required(name, "a token's name")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        if expires is not None and expires <= now:
            raise AccountsError(f"the token would expire before it is made ({expires:%Y-%m-%d})")
        with self._session(write=True) as session, session.begin():
            person = self._person_row(session, login)
            if person.disabled:
                raise AccountsError(f"{person.login!r} is disabled: no token can be made")
            session.add(
                ApiTokenRow(
                    token_hash=token_hash(token),
                    person_id=person.id,
                    name=name,
                    created=now,
                    expires=expires,
                )
            )
        return token

    def revoke_token(self, token: str) -> None:
        """Revoke an API token (given whole): scripts using it are refused from now on."""
        now = self.clock()
        with self._session(write=True) as session, session.begin():
            row = session.scalar(
                select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash(token))
            )
            if row is None:
                raise AccountsError("no such API token (was it copied whole?)")
            if row.revoked is None:
                row.revoked = now
                self._bump(session, self._negotiations_of(session, row.person_id))

    def tokens(self, login: str) -> list[TokenInfo]:
        """A person's API tokens (what is known of them: never the token itself)."""
        with self._session(write=False) as session:
            person = self._person_row(session, login)
            rows = session.scalars(
                select(ApiTokenRow)
                .where(ApiTokenRow.person_id == person.id)
                .order_by(ApiTokenRow.id)
            )
            return [_token_info(row) for row in rows]

    def token_info(self, token: str) -> TokenInfo:
        """What is known of an API token given whole (for the record of who revoked what)."""
        with self._session(write=False) as session:
            row = session.scalar(
                select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash(token))
            )
            if row is None:
                raise AccountsError("no such API token (was it copied whole?)")
            return _token_info(row)

    def authenticate_token(self, token: str) -> Identity:
        now = self.clock()
        with self._session(write=False) as session:
            found = session.execute(
                select(ApiTokenRow, PersonRow)
                .join(PersonRow, PersonRow.id == ApiTokenRow.person_id)
                .where(ApiTokenRow.token_hash == token_hash(token))
            ).first()
        if found is None:
            raise NotSignedIn("not signed in: unknown API token")
        row, person = found
        if row.revoked is not None:
            raise NotSignedIn("not signed in: the API token was revoked")
        if person.disabled:
            raise NotSignedIn("not signed in: the account is disabled")
        if row.expires is not None and now >= row.expires:
            raise NotSignedIn("not signed in: the API token expired")
        if row.last_used is None or now - row.last_used >= TOUCH_INTERVAL:
            with self._session(write=True) as session, session.begin():
                session.execute(
                    update(ApiTokenRow).where(ApiTokenRow.id == row.id).values(last_used=now)
                )
        return Identity(person.id, person.login, person.name, f"token:{row.id}")

    def authenticate(self, token: str) -> Identity:
        """An API token ("trv_…") or a session cookie."""
        if token.startswith(TOKEN_PREFIX):
            return self.authenticate_token(token)
        return self.authenticate_session(token)[0]

    def still_valid(self, credentials: Iterable[str]) -> set[str]:
        """Those of the credentials ("session:N", "token:N") that still sign someone in:
        not revoked, not past their expiry, their person not disabled.

        A session's idle timeout is not applied here: a live connection is activity,
        and the idle timeout is checked when a cookie is presented again."""
        sessions: dict[int, str] = {}
        tokens: dict[int, str] = {}
        for credential in credentials:
            kind, _, number = credential.partition(":")
            if number.isdigit() and kind in ("session", "token"):
                (sessions if kind == "session" else tokens)[int(number)] = credential
        now = self.clock()
        valid: set[str] = set()
        with self._session(write=False) as session:
            if sessions:
                rows = session.execute(
                    select(SessionRow.id, SessionRow.expires)
                    .join(PersonRow, PersonRow.id == SessionRow.person_id)
                    .where(
                        SessionRow.id.in_(sessions),
                        SessionRow.revoked.is_(None),
                        PersonRow.disabled.is_(False),
                    )
                )
                valid.update(sessions[i] for i, expires in rows if now < expires)
            if tokens:
                rows = session.execute(
                    select(ApiTokenRow.id, ApiTokenRow.expires)
                    .join(PersonRow, PersonRow.id == ApiTokenRow.person_id)
                    .where(
                        ApiTokenRow.id.in_(tokens),
                        ApiTokenRow.revoked.is_(None),
                        PersonRow.disabled.is_(False),
                    )
                )
                valid.update(tokens[i] for i, expires in rows if expires is None or now < expires)
        return valid

    # -- helpers --------------------------------------------------------------------------
    def _hash_password(self, password: str) -> str:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise AccountsError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        return self.hasher.hash(password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    @staticmethod
    def _negotiation_row(session: Session, negotiation_id: str) -> NegotiationRow:
        row = session.get(NegotiationRow, negotiation_id) if negotiation_id else None
        if row is None:
            known = list(session.scalars(select(NegotiationRow.id).order_by(NegotiationRow.id)))
            listed = ", ".join(known[:10]) + (" …" if len(known) > 10 else "")
            raise AccountsError(
                f"no negotiation {negotiation_id!r} "
                + (f"(negotiations: {listed})" if known else "(there are none yet)")
            )
        return row

    @staticmethod
    def _person_row(session: Session, login_or_id: str) -> PersonRow:
        login = normalise_login(login_or_id)
        row = session.scalar(select(PersonRow).where(PersonRow.login == login))
        if row is None:
            row = session.get(PersonRow, login_or_id.strip())
        if row is None:
            raise AccountsError(f"no person with login {login!r}")
        return row

    @staticmethod
    def _party_codes(session: Session, negotiation_id: str) -> list[str]:
        return list(
            session.scalars(
                select(NegotiationPartyRow.code)
                .where(NegotiationPartyRow.negotiation_id == negotiation_id)
                .order_by(NegotiationPartyRow.id)
            )
        )

    @staticmethod
    def _negotiations_of(session: Session, person_id: str) -> list[str]:
        return list(
            session.scalars(
                select(MembershipRow.negotiation_id).where(MembershipRow.person_id == person_id)
            )
        )

    @staticmethod
    def _revoke_sessions(session: Session, person_id: str, now: datetime) -> None:
        session.execute(
            update(SessionRow)
            .where(SessionRow.person_id == person_id, SessionRow.revoked.is_(None))
            .values(revoked=now)
        )

    @staticmethod
    def _bump(session: Session, negotiation_ids: Iterable[str]) -> None:
        """Tell every server process that rights in these negotiations changed."""
        ids = sorted(set(negotiation_ids))
        if ids:
            session.execute(
                update(NegotiationRow)
                .where(NegotiationRow.id.in_(ids))
                .values(rights_version=NegotiationRow.rights_version + 1)
            )


# -- values ---------------------------------------------------------------------------------
def parse_grants(stored: str) -> dict[Role, frozenset[Capability]]:
    """`NegotiationRow.grants` as `Actor.of` takes it (empty: the defaults)."""
    if not stored:
        return {}
    return {
        Role(role): frozenset(Capability(c) for c in capabilities)
        for role, capabilities in json.loads(stored).items()
    }


def _membership(row: MembershipRow, grants: str) -> Membership:
    role = Role(row.role)
    return Membership(
        negotiation_id=row.negotiation_id,
        person_id=row.person_id,
        party=row.party,
        role=role,
        actor=Actor.of(role, row.party, parse_grants(grants) or None),
    )


def _negotiation_info(row: NegotiationRow) -> NegotiationInfo:
    return NegotiationInfo(
        row.id, row.name, row.rights_version, parse_grants(row.grants), row.created
    )


def _token_info(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo(
        row.id, row.person_id, row.name, row.created, row.expires, row.revoked, row.last_used
    )


def _person_info(row: PersonRow) -> PersonInfo:
    return PersonInfo(row.id, row.login, row.name, row.disabled, row.created)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise AccountsError(f"no role {role!r} (roles: {roles})") from None


def _capability(capability: Capability | str) -> Capability:
    try:
        return Capability(capability)
    except ValueError:
        known = ", ".join(c.value for c in Capability)
        raise AccountsError(f"no capability {capability!r} (capabilities: {known})") from None


def _required(value: str, what: str) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        raise AccountsError(f"{what} is empty")
    if len(value) > NAME_LENGTH:
        raise AccountsError(f"{what} is longer than {NAME_LENGTH} characters")
    return value


def _check_login(login: str) -> str:
    login = normalise_login(login)
    if not login or len(login) > NAME_LENGTH or any(c.isspace() for c in login):
        raise AccountsError(
            f"{login!r} is not a login: one word (an e-mail address, usually) of at most "
            f"{NAME_LENGTH} characters"
        )
    return login


def _check_party_code(code: str) -> str:
    code = code.strip()
    if not _PARTY_CODE.fullmatch(code) or len(code) > PARTY_LENGTH:
        raise AccountsError(
            f"{code!r} is not a Party code: a short code such as EU, AOSIS or G77/China, "
            "without spaces, '+', ':', ',' or brackets"
        )
    return code


def _check_negotiation_id(negotiation_id: str) -> None:
    if not _NEGOTIATION_ID.fullmatch(negotiation_id) or len(negotiation_id) > TEXT_ID_LENGTH:
        raise AccountsError(
            f"{negotiation_id!r} is not a negotiation id: letters, digits, '-' and '_', "
            f"at most {TEXT_ID_LENGTH} characters"
        )


def _its_parties(codes: Sequence[str]) -> str:
    return f"its Parties: {', '.join(codes)}" if codes else "it has no Parties yet"


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word
