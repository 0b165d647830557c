"""The demo negotiation that `travaux serve` starts with on an empty database: a short
treaty text, two delegations and a negotiating group, and one person in each role, so
that a new user can sign in as each and see what the role may do.

The password is public (it is in the README): the demo is for a server on loopback, which
is why `travaux serve` seeds it only there unless told `--demo`.
"""

from __future__ import annotations

from dataclasses import dataclass

from crdt_sync.accounts import Accounts
from crdt_sync.store import Store
from drafting.vocabulary import Role

DEMO_NEGOTIATION = "demo"
DEMO_NAME = "Demo conference on mountain glaciers"
DEMO_PASSWORD = "travaux-demo"
DEMO_PARTIES = (
    ("EU", "European Union", "delegation"),
    ("AOSIS", "Alliance of Small Island States", "delegation"),
    ("G77", "Group of 77 and China", "group"),
)
# The same Parties in the text's own registry (drafting.vocabulary.PartyKind), which the
# permission rules and the balloon operations consult.
DOCUMENT_PARTY_KINDS = {"EU": "organisation", "AOSIS": "group", "G77": "group"}


@dataclass(frozen=True)
class DemoPerson:
    login: str
    name: str
    role: Role
    party: str = ""


DEMO_PEOPLE = (
    DemoPerson("chair@demo", "Chair of the conference", Role.CHAIR),
    DemoPerson("secretariat@demo", "Secretariat officer", Role.SECRETARIAT),
    DemoPerson("eu@demo", "EU delegate", Role.DELEGATE, "EU"),
    DemoPerson("aosis@demo", "AOSIS delegate", Role.DELEGATE, "AOSIS"),
    DemoPerson("eu-viewer@demo", "EU delegation member (viewer)", Role.DELEGATION_VIEWER, "EU"),
    DemoPerson("observer@demo", "Civil society observer", Role.OBSERVER),
    DemoPerson("legal@demo", "Legal adviser", Role.LEGAL_ADVISER),
)


@dataclass(frozen=True)
class DemoNegotiation:
    negotiation_id: str
    name: str
    text_ids: tuple[str, ...]
    people: tuple[DemoPerson, ...]
    password: str
    created: bool  # False: it was there already and nothing was changed

    @property
    def text_id(self) -> str:
        """The demo text (the first, should an operator have attached more)."""
        return self.text_ids[0] if self.text_ids else ""


def seed_demo(store: Store, accounts: Accounts) -> DemoNegotiation:
    """Create the demo negotiation, its text and its people, unless it exists already
    (then nothing is touched: an operator may have changed it since)."""
    if DEMO_NEGOTIATION in accounts.rights_versions():
        return _demo(accounts, created=False)
    # Imported here: the web stack is not needed to read what the demo is.
    from web.app import import_demo

    # The negotiation last, so that a seeding cut short is redone on the next start; people
    # it did create are kept as they are.
    known = {person.login for person in accounts.people()}
    for person in DEMO_PEOPLE:
        if person.login not in known:
            accounts.create_person(person.login, person.name, DEMO_PASSWORD)
    text_id = import_demo(
        store, [(code, name, DOCUMENT_PARTY_KINDS[code]) for code, name, _ in DEMO_PARTIES]
    )
    accounts.create_negotiation(
        DEMO_NAME,
        [(code, name) for code, name, kind in DEMO_PARTIES if kind == "delegation"],
        negotiation_id=DEMO_NEGOTIATION,
    )
    for code, name, kind in DEMO_PARTIES:
        if kind != "delegation":
            accounts.add_party(DEMO_NEGOTIATION, code, name, kind)
    accounts.attach_text(text_id, DEMO_NEGOTIATION)
    for person in DEMO_PEOPLE:
        accounts.grant(person.login, DEMO_NEGOTIATION, person.role, person.party)
    return _demo(accounts, created=True)


def sign_in_help(demo: DemoNegotiation) -> str:
    """What `travaux serve` prints: who one can sign in as."""
    width = max(len(person.login) for person in demo.people)
    lines = [f"demo negotiation {demo.name!r}: sign in as (password {demo.password!r})"]
    for person in demo.people:
        role = f"{person.role.value} for {person.party}" if person.party else person.role.value
        lines.append(f"  {person.login.ljust(width)}  {role}")
    return "\n".join(lines)


def _demo(accounts: Accounts, *, created: bool) -> DemoNegotiation:
    return DemoNegotiation(
        negotiation_id=DEMO_NEGOTIATION,
        name=accounts.negotiation(DEMO_NEGOTIATION).name,
        text_ids=tuple(accounts.texts_of(DEMO_NEGOTIATION)),
        people=DEMO_PEOPLE,
        password=DEMO_PASSWORD,
        created=created,
    )
