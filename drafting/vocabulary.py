"""The negotiation vocabulary: every kind, status and role the code speaks of, in one place.

Values are the strings stored in the CRDT document (and read by the browser client), so
they never change once released; see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from enum import StrEnum


class TextKind(StrEnum):
    TREATY = "treaty"
    JOINT_STATEMENT = "joint-statement"
    RESOLUTION = "resolution"
    DECLARATION = "declaration"
    DECISION = "decision"  # a COP/CMA decision: shaped like a resolution


class ClauseKind(StrEnum):
    """Structural units. Containers hold other clauses; every clause may hold words."""

    PREAMBLE = "preamble"  # container of recitals; its own words are the chapeau
    RECITAL = "recital"  # PP1, PP2 … in resolutions; unnumbered in treaties
    SECTION = "section"  # a titled part ("I. Adoption", "Chapter II") grouping clauses
    ARTICLE = "article"  # Article N; its words are its title
    PARAGRAPH = "paragraph"  # numbered paragraph of an article (1, 2, 2 bis)
    SUBPARAGRAPH = "subparagraph"  # lettered (a), (b) …; nests
    OPERATIVE = "operative"  # OP1, OP2 … of a resolution or decision
    OPTIONS = "options"  # an option block: alternatives of whole clauses
    OPTION = "option"  # "Option 1:" — its words inline, or its clauses as children
    TEXT = "text"  # an unnumbered paragraph (a chapeau, "No text", a note in the text)
    HEADING = "heading"  # a heading that is not a section (a document's own title line)
    FINAL_CLAUSES = "final-clauses"  # container: signature, entry into force, depositary
    ANNEX = "annex"


class ClauseStatus(StrEnum):
    PENDING = "pending"
    BRACKETED = "bracketed"
    AGREED_AD_REF = "agreed ad ref"
    AGREED = "agreed"
    PARKED = "parked"
    DELETED = "deleted"


class BracketKind(StrEnum):
    BRACKET = "bracket"  # [ … ]
    PLACEHOLDER = "placeholder"  # { … }
    CLAUSE = "clause"  # a whole clause in brackets: [Article 3bis]


class BracketState(StrEnum):
    OPEN = "open"
    KEPT = "kept"  # lifted: the words stay, the brackets go
    DROPPED = "dropped"  # lifted: the words go


class ProposalKind(StrEnum):
    INSERT = "insert"
    DELETE = "delete"
    REPLACE = "replace"
    ALTERNATIVE = "alternative"
    NEW_PARAGRAPH = "new paragraph"
    MOVE = "move"


class ProposalStatus(StrEnum):
    TABLED = "tabled"
    WITHDRAWN = "withdrawn"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"


class PartyKind(StrEnum):
    STATE = "state"
    ORGANISATION = "organisation"  # a regional economic integration organisation: EU
    GROUP = "group"  # a negotiating group: G77/China, AOSIS, LDCs


class BalloonScopeKind(StrEnum):
    CHAIR = "chair"  # the chair (and secretariat) only
    PARTIES = "parties"  # the chair and the listed Parties
    ALL = "all"  # every Party in the room (never observers)


class BalloonStatus(StrEnum):
    FLOATED = "floated"
    WITHDRAWN = "withdrawn"
    PROMOTED = "promoted"


class Role(StrEnum):
    """What a person does in a negotiation; they act for one Party (or none)."""

    CHAIR = "chair"  # or facilitator
    SECRETARIAT = "secretariat"
    DELEGATE = "delegate"  # tables in the name of their Party
    DELEGATION_VIEWER = "delegation viewer"
    OBSERVER = "observer"  # civil society, business: reads the public text only
    LEGAL_ADVISER = "legal adviser"  # reads and exports


class Capability(StrEnum):
    READ = "read"
    TABLE = "table"  # propose, bracket, support, object, withdraw — in one's own Party's name
    EDIT = "edit"  # editorial changes to any words
    STRUCTURE = "structure"  # add, move, renumber clauses; the text's metadata and Parties
    DECIDE = "decide"  # lift brackets, agree clauses, accept/reject proposals, choose options
    EXPORT = "export"
