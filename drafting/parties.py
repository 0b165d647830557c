"""The registry of Parties: delegations (States, organisations) and negotiating groups.

Attribution in a text is always to a Party ("[EU: …]"), never to a person. Every
operation that names a Party checks it is registered, so a typo cannot attribute a
proposal to a delegation that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from drafting.schema import NegotiationText
from drafting.vocabulary import PartyKind


class UnknownParty(ValueError):
    """A Party code that is not in the text's registry."""


@dataclass(frozen=True)
class Party:
    code: str
    name: str
    kind: PartyKind
    members: tuple[str, ...] = ()


def register_party(
    text: NegotiationText,
    code: str,
    name: str,
    kind: PartyKind | str = PartyKind.STATE,
    members: tuple[str, ...] | list[str] = (),
) -> None:
    """Add a Party or group (or update its name and members)."""
    code = code.strip()
    if not code:
        raise ValueError("a Party needs a code, such as 'EU' or 'G77/China'")
    kind = PartyKind(kind)
    with text.transaction():
        for member in members:
            require_party(text, member)
        text.parties[code] = {"name": name or code, "kind": str(kind), "members": list(members)}


def parties(text: NegotiationText) -> list[Party]:
    found = []
    for code, record in text.parties.items():
        found.append(
            Party(code, record["name"], PartyKind(record["kind"]), tuple(record["members"]))
        )
    return sorted(found, key=lambda p: p.code)


def require_party(text: NegotiationText, code: str) -> None:
    """Check a Party code ("" means: no attribution)."""
    if code and code not in text.parties:
        known = ", ".join(sorted(text.parties.keys())) or "none registered"
        raise UnknownParty(f"unknown Party {code!r} (Parties of this text: {known})")
