"""Accounts: who may sign in, for how long, and with which role in which negotiation.

Every test runs on a real SQLite file and on the real PostgreSQL server (`db_url`). Time
is a clock the test moves, so that expiry is shown without waiting. Passwords are hashed
with a cheap Argon2id (the test is about the rules, not the cost), except where the
default parameters themselves are the point.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from crdt_sync.accounts import (
    Accounts,
    AccountsError,
    NotSignedIn,
    PartyInfo,
    SignInRefused,
)
from crdt_sync.models import ApiTokenRow, PersonRow, SessionRow, TextRow
from crdt_sync.store import Store
from drafting.vocabulary import Capability, Role

PASSWORD = "correct horse battery"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Clock:
    """The time as the test says it is."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class CountingHasher(PasswordHasher):
    """A real (cheap) Argon2id hasher that counts the passwords it checks."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as store:
        yield store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: Store, clock: Clock) -> Accounts:
    return Accounts(store, clock=clock, password_hasher=CountingHasher())


@pytest.fixture
def cop(accounts: Accounts) -> str:
    """A negotiation with two delegations, an EU delegate and a chair."""
    negotiation = accounts.create_negotiation(
        "COP 31", [("EU", "European Union"), ("AOSIS", "Alliance of Small Island States")]
    )
    accounts.create_person("eu@cop", "EU delegate", PASSWORD)
    accounts.create_person("chair@cop", "Chair", PASSWORD)
    accounts.grant("eu@cop", negotiation, Role.DELEGATE, party="EU")
    accounts.grant("chair@cop", negotiation, "chair")
    return negotiation


def add_text(store: Store, accounts: Accounts, negotiation: str) -> str:
    from drafting.importing import import_markdown

    text = import_markdown("## Article 1\n\n1. Parties [shall][should] act.\n").text
    text_id = store.create_text(text.to_update(), title="t", kind="agreement", origin="test")
    accounts.attach_text(text_id, negotiation)
    return text_id


# -- signing in -------------------------------------------------------------------------------


def test_the_right_password_signs_in_and_the_cookie_then_names_the_person(
    accounts: Accounts, cop: str
) -> None:
    signed_in = accounts.sign_in("eu@cop", PASSWORD)

    identity, csrf = accounts.authenticate_session(signed_in.session_token)
    assert identity == signed_in.identity
    assert (identity.login, identity.name) == ("eu@cop", "EU delegate")
    assert identity.credential.startswith("session:")
    assert csrf == signed_in.csrf_token and csrf != signed_in.session_token
    assert signed_in.expires == START + timedelta(days=7)
    assert accounts.authenticate(signed_in.session_token) == identity
    # Logins are e-mail addresses: case and stray spaces do not make another person.
    assert accounts.sign_in("  EU@Cop ", PASSWORD).identity.person_id == identity.person_id


def test_a_wrong_password_and_an_unknown_login_are_refused_alike(
    accounts: Accounts, cop: str
) -> None:
    hasher = accounts.hasher
    assert isinstance(hasher, CountingHasher)

    with pytest.raises(SignInRefused) as wrong:
        accounts.sign_in("eu@cop", PASSWORD + "!")
    checked = hasher.verified
    with pytest.raises(SignInRefused) as unknown:
        accounts.sign_in("nobody@cop", PASSWORD)

    assert str(wrong.value) == str(unknown.value)
    assert "login" in str(wrong.value) and "password" in str(wrong.value)
    # The unknown login paid for a password check too, so the time taken does not tell.
    assert hasher.verified == checked + 1


def test_passwords_are_kept_as_argon2id_hashes_only(store: Store) -> None:
    accounts = Accounts(store)  # argon2-cffi's default parameters

    person_id = accounts.create_person("eu@cop", "EU delegate", PASSWORD)

    with store._session(write=False) as session:
        kept = session.scalars(select(PersonRow.password_hash)).one()
    assert kept.startswith("$argon2id$")
    assert PASSWORD not in kept
    assert accounts.sign_in("eu@cop", PASSWORD).identity.person_id == person_id


def test_a_password_must_be_long_enough_and_a_login_unique(accounts: Accounts) -> None:
    with pytest.raises(AccountsError, match="at least 8 characters"):
        accounts.create_person("eu@cop", "EU delegate", "short")
    accounts.create_person("eu@cop", "EU delegate", PASSWORD)
    with pytest.raises(AccountsError, match="already a person with login 'eu@cop'"):
        accounts.create_person("EU@cop", "Someone else", PASSWORD)
    with pytest.raises(AccountsError, match="not a login"):
        accounts.create_person("two words", "Someone", PASSWORD)


def test_a_new_password_replaces_the_old_and_ends_browser_sessions(
    accounts: Accounts, cop: str
) -> None:
    before = accounts.sign_in("eu@cop", PASSWORD)

    accounts.set_password("eu@cop", "another long password")

    with pytest.raises(NotSignedIn):
        accounts.authenticate_session(before.session_token)
    with pytest.raises(SignInRefused):
        accounts.sign_in("eu@cop", PASSWORD)
    accounts.sign_in("eu@cop", "another long password")


# -- sessions ---------------------------------------------------------------------------------


def test_a_session_left_idle_too_long_expires(accounts: Accounts, clock: Clock, cop: str) -> None:
    signed_in = accounts.sign_in("eu@cop", PASSWORD)

    clock.advance(hours=11, minutes=59)
    accounts.authenticate_session(signed_in.session_token)  # used: the idle time restarts
    clock.advance(hours=11, minutes=59)
    accounts.authenticate_session(signed_in.session_token)
    clock.advance(hours=12)

    with pytest.raises(NotSignedIn, match="inactivity"):
        accounts.authenticate_session(signed_in.session_token)


def test_a_session_in_constant_use_still_ends_after_its_lifetime(
    accounts: Accounts, clock: Clock, cop: str
) -> None:
    signed_in = accounts.sign_in("eu@cop", PASSWORD)

    for _ in range(14):  # every 12 hours minus a minute: never idle, 7 days less 14 minutes
        clock.advance(hours=11, minutes=59)
        accounts.authenticate_session(signed_in.session_token)
    clock.advance(minutes=15)  # 7 days and a minute

    with pytest.raises(NotSignedIn, match="expired"):
        accounts.authenticate_session(signed_in.session_token)
    assert accounts.still_valid([signed_in.identity.credential]) == set()


def test_last_seen_is_written_at_most_once_a_minute(
    store: Store, accounts: Accounts, clock: Clock, cop: str
) -> None:
    signed_in = accounts.sign_in("eu@cop", PASSWORD)

    def last_seen() -> datetime:
        with store._session(write=False) as session:
            return session.scalars(select(SessionRow.last_seen)).one()

    clock.advance(seconds=30)
    accounts.authenticate_session(signed_in.session_token)
    assert last_seen() == START
    clock.advance(seconds=30)
    accounts.authenticate_session(signed_in.session_token)
    assert last_seen() == START + timedelta(minutes=1)


def test_after_signing_out_the_same_cookie_is_refused(accounts: Accounts, cop: str) -> None:
    signed_in = accounts.sign_in("eu@cop", PASSWORD)

    accounts.sign_out(signed_in.session_token)
    accounts.sign_out(signed_in.session_token)  # twice is harmless

    with pytest.raises(NotSignedIn, match="signed out"):
        accounts.authenticate_session(signed_in.session_token)
    with pytest.raises(NotSignedIn):
        accounts.authenticate(signed_in.session_token)
    assert accounts.still_valid([signed_in.identity.credential]) == set()


def test_only_the_hash_of_a_session_cookie_is_stored(
    store: Store, accounts: Accounts, cop: str
) -> None:
    signed_in = accounts.sign_in("eu@cop", PASSWORD)

    with store._session(write=False) as session:
        row = session.scalars(select(SessionRow)).one()
    assert row.token_hash == hashlib.sha256(signed_in.session_token.encode()).hexdigest()
    assert signed_in.session_token not in (row.token_hash, row.csrf_token)
    with pytest.raises(NotSignedIn, match="unknown session"):
        accounts.authenticate_session(row.token_hash)  # a stolen copy of the table is no use


# -- API tokens -------------------------------------------------------------------------------


def test_an_api_token_signs_a_script_in_and_only_its_hash_is_kept(
    store: Store, accounts: Accounts, clock: Clock, cop: str
) -> None:
    token = accounts.create_token("eu@cop", "nightly export")

    identity = accounts.authenticate(token)

    assert token.startswith("trv_") and len(token) > 40
    assert identity.login == "eu@cop" and identity.credential.startswith("token:")
    assert accounts.authenticate_token(token) == identity
    with store._session(write=False) as session:
        row = session.scalars(select(ApiTokenRow)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.name)
    assert row.last_used == START
    with pytest.raises(NotSignedIn, match="unknown API token"):
        accounts.authenticate(token + "x")


def test_an_api_token_expires_and_can_be_revoked(
    accounts: Accounts, clock: Clock, cop: str
) -> None:
    expiring = accounts.create_token("eu@cop", "for a week", expires=START + timedelta(days=7))
    lasting = accounts.create_token("eu@cop", "until revoked")
    expiring_credential = accounts.authenticate(expiring).credential
    lasting_credential = accounts.authenticate(lasting).credential

    clock.advance(days=7)
    with pytest.raises(NotSignedIn, match="expired"):
        accounts.authenticate(expiring)
    assert accounts.authenticate(lasting).credential == lasting_credential

    accounts.revoke_token(lasting)
    with pytest.raises(NotSignedIn, match="revoked"):
        accounts.authenticate(lasting)
    assert accounts.still_valid([expiring_credential, lasting_credential]) == set()
    with pytest.raises(AccountsError, match="no such API token"):
        accounts.revoke_token("trv_made-up")
    with pytest.raises(AccountsError, match="expire before"):
        accounts.create_token("eu@cop", "backdated", expires=START)


# -- people disabled, credentials still valid -------------------------------------------------


def test_a_disabled_person_cannot_sign_in_and_loses_every_session_and_token(
    accounts: Accounts, cop: str
) -> None:
    signed_in = accounts.sign_in("eu@cop", PASSWORD)
    token = accounts.create_token("eu@cop", "script")

    accounts.disable_person("eu@cop")

    with pytest.raises(SignInRefused, match="disabled"):
        accounts.sign_in("eu@cop", PASSWORD)
    with pytest.raises(SignInRefused, match="unknown login or wrong password"):
        accounts.sign_in("eu@cop", "wrong password")  # "disabled" only for the password
    for credential in (signed_in.session_token, token):
        with pytest.raises(NotSignedIn):
            accounts.authenticate(credential)
    with pytest.raises(AccountsError, match="disabled"):
        accounts.create_token("eu@cop", "another")
    assert accounts.person("eu@cop").disabled


def test_still_valid_keeps_only_live_credentials(
    accounts: Accounts, clock: Clock, cop: str
) -> None:
    live = accounts.sign_in("eu@cop", PASSWORD).identity.credential
    signed_out = accounts.sign_in("eu@cop", PASSWORD)
    accounts.sign_out(signed_out.session_token)
    token = accounts.authenticate(accounts.create_token("chair@cop", "script")).credential
    short = accounts.create_token("chair@cop", "short", expires=START + timedelta(hours=1))
    short_credential = accounts.authenticate(short).credential
    clock.advance(hours=2)

    valid = accounts.still_valid(
        [live, signed_out.identity.credential, token, short_credential, "session:999", "bogus"]
    )

    assert valid == {live, token}
    accounts.disable_person("chair@cop")
    assert accounts.still_valid([live, token]) == {live}


# -- negotiations, Parties, memberships -------------------------------------------------------


def test_a_membership_gives_the_role_and_party_as_an_actor(accounts: Accounts, cop: str) -> None:
    eu = accounts.person("eu@cop")
    chair = accounts.person("chair@cop")

    membership = accounts.membership(eu.id, cop)

    assert membership is not None
    assert (membership.role, membership.party) == (Role.DELEGATE, "EU")
    assert membership.actor.party == "EU"
    assert membership.actor.capabilities == {Capability.READ, Capability.TABLE}
    chair_membership = accounts.membership(chair.id, cop)
    assert chair_membership is not None and chair_membership.party == ""
    assert chair_membership.actor.may(Capability.DECIDE)
    assert accounts.memberships(eu.id) == [membership]
    assert accounts.membership(eu.id, accounts.create_negotiation("Other talks")) is None
    assert accounts.parties(cop) == [
        PartyInfo("EU", "European Union", "delegation"),
        PartyInfo("AOSIS", "Alliance of Small Island States", "delegation"),
    ]


def test_granting_checks_the_negotiation_the_role_and_the_party(
    accounts: Accounts, cop: str
) -> None:
    with pytest.raises(AccountsError) as unknown_party:
        accounts.grant("eu@cop", cop, Role.DELEGATE, party="XX")
    assert str(unknown_party.value) == (
        f"no Party 'XX' in negotiation '{cop}' (its Parties: EU, AOSIS)"
    )
    with pytest.raises(AccountsError, match=r"no negotiation 'nope' \(negotiations: "):
        accounts.grant("eu@cop", "nope", Role.DELEGATE, party="EU")
    with pytest.raises(AccountsError, match=r"no role 'king' \(roles: chair, secretariat"):
        accounts.grant("eu@cop", cop, "king")
    with pytest.raises(AccountsError, match="a delegation viewer acts for a Party"):
        accounts.grant("eu@cop", cop, Role.DELEGATION_VIEWER)
    with pytest.raises(AccountsError, match="no person with login 'who@cop'"):
        accounts.grant("who@cop", cop, Role.OBSERVER)
    # Nothing was changed by the refusals.
    membership = accounts.membership(accounts.person("eu@cop").id, cop)
    assert membership is not None and (membership.role, membership.party) == (Role.DELEGATE, "EU")


def test_parties_and_negotiations_are_checked_when_made(accounts: Accounts, cop: str) -> None:
    accounts.add_party(cop, "G77/China", "Group of 77 and China", "group")
    assert accounts.parties(cop)[-1] == PartyInfo("G77/China", "Group of 77 and China", "group")
    with pytest.raises(AccountsError, match="already has Party 'EU'"):
        accounts.add_party(cop, "EU", "European Union")
    with pytest.raises(AccountsError, match="not a Party code"):
        accounts.add_party(cop, "AOSIS+EU", "A scope, not a Party")
    with pytest.raises(AccountsError, match="delegation or a group"):
        accounts.add_party(cop, "US", "United States", "superpower")
    assert accounts.create_negotiation("Demo", negotiation_id="demo") == "demo"
    with pytest.raises(AccountsError, match="already a negotiation with id 'demo'"):
        accounts.create_negotiation("Demo again", negotiation_id="demo")
    with pytest.raises(AccountsError, match="given twice"):
        accounts.create_negotiation("Twice", [("EU", "European Union"), ("EU", "EU again")])


def test_every_change_of_rights_moves_the_rights_version(
    store: Store, accounts: Accounts, cop: str
) -> None:
    other = accounts.create_negotiation("Other talks")
    versions = accounts.rights_versions()
    assert versions[other] == 0

    def moved() -> dict[str, int]:
        nonlocal versions
        now = accounts.rights_versions()
        changed = {n: now[n] - versions.get(n, 0) for n in now if now[n] != versions.get(n, 0)}
        versions = now
        return changed

    accounts.grant("eu@cop", cop, Role.DELEGATE, party="EU")
    assert moved() == {}  # the same role again changes nothing
    accounts.grant("eu@cop", cop, Role.DELEGATION_VIEWER, party="EU")
    assert moved() == {cop: 1}
    accounts.revoke("eu@cop", cop)
    assert moved() == {cop: 1}
    with pytest.raises(AccountsError, match="has no role"):
        accounts.revoke("eu@cop", cop)
    accounts.set_grants(cop, {Role.OBSERVER: frozenset()})
    assert moved() == {cop: 1}
    text_id = add_text(store, accounts, cop)
    assert moved() == {cop: 1}
    accounts.attach_text(text_id, other)  # moved: whoever could open it before may not now
    assert moved() == {cop: 1, other: 1}
    signed_in = accounts.sign_in("chair@cop", PASSWORD)
    accounts.sign_out(signed_in.session_token)  # a live connection on it must be closed
    assert moved() == {cop: 1}
    accounts.disable_person("chair@cop")
    assert moved() == {cop: 1}


def test_a_negotiation_can_regrant_what_a_role_may_do(accounts: Accounts, cop: str) -> None:
    eu = accounts.person("eu@cop").id
    chair = accounts.person("chair@cop").id

    accounts.set_grants(cop, {Role.DELEGATE: frozenset({Capability.READ, Capability.EXPORT})})

    delegate = accounts.membership(eu, cop)
    assert delegate is not None
    assert delegate.actor.capabilities == {Capability.READ, Capability.EXPORT}
    assert not delegate.actor.may(Capability.TABLE)
    assert accounts.negotiation(cop).grants == {
        Role.DELEGATE: frozenset({Capability.READ, Capability.EXPORT})
    }
    chair_membership = accounts.membership(chair, cop)
    assert chair_membership is not None and chair_membership.actor.may(Capability.DECIDE)
    with pytest.raises(AccountsError, match="no capability 'veto'"):
        accounts.set_grants(cop, {Role.DELEGATE: {"veto"}})  # type: ignore[dict-item]

    accounts.set_grants(cop, {})  # back to the defaults

    delegate = accounts.membership(eu, cop)
    assert delegate is not None and delegate.actor.may(Capability.TABLE)


def test_a_scoped_document_belongs_to_its_parent_texts_negotiation(
    store: Store, accounts: Accounts, cop: str
) -> None:
    text_id = add_text(store, accounts, cop)
    with store._session(write=True) as session, session.begin():
        session.add(
            TextRow(
                id="balloons01",
                title="",
                kind="balloons",
                created=START,
                updated=START,
                parent_id=text_id,
                scope="balloons:parties:AOSIS+EU",
            )
        )

    assert accounts.negotiation_of("balloons01") == cop
    assert accounts.negotiation_of(text_id) == cop
    assert accounts.negotiation_of("unknown") is None
    assert accounts.texts_of(cop) == [text_id]  # the scoped document is not a text of its own
    with pytest.raises(AccountsError, match="scoped document of text"):
        accounts.attach_text("balloons01", cop)
    with pytest.raises(AccountsError, match="no text with id 'unknown'"):
        accounts.attach_text("unknown", cop)
