"""The audit log of a negotiation over HTTP, for its chair and secretariat (`routes`).

    GET /api/negotiations/{id}/audit   ?party ?person ?action (repeated, or a,b)
                                       ?since ?until (ISO 8601, UTC unless given)
                                       ?after=ID ?limit=N (1 … 5000, default 500)

Answers `{"negotiation", "entries": [oldest first], "next_after"}`: `next_after` is the
`after` that reads the next page, null at the end. Only entries recorded in that
negotiation are shown (a sign-in refused before anyone was known belongs to none: `travaux
audit list` shows those). 401 without a sign-in, 404 for a negotiation the caller is not
in (as for one that does not exist), 403 for any role but chair and secretariat.

An unattributed trial balloon shows its author to nobody but the chair: for the
secretariat, such an entry has no person and no Party, and a filter by person or Party
leaves it out (its presence would name the author).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crdt_sync.audit import BALLOON_ACTIONS, MAX_LIMIT, AuditAction, AuditEntry, AuditLog
from drafting.vocabulary import Role
from web.auth import accounts_of, identify
from web.errors import ApiError

READERS = (Role.CHAIR, Role.SECRETARIAT)
DEFAULT_LIMIT = 500


async def negotiation_audit(request: Request) -> JSONResponse:
    negotiation_id = request.path_params["negotiation_id"]
    identity = await identify(request)
    accounts = accounts_of(request)
    membership = await run_in_threadpool(accounts.membership, identity.person_id, negotiation_id)
    if membership is None:
        raise ApiError(
            404, f"no negotiation with id {negotiation_id!r}", {"negotiation": negotiation_id}
        )
    if membership.role not in READERS:
        raise ApiError(
            403,
            f"only the chair and the secretariat read the audit log, not a {membership.role}",
            {"role": membership.role.value, "readers": [r.value for r in READERS]},
        )
    query = _query(request)
    log = _log(request)
    raw = await run_in_threadpool(lambda: log.entries(negotiation_id=negotiation_id, **query))
    chair = membership.role == Role.CHAIR
    filtered = query["party"] is not None or query["person"] is not None
    shown = [
        _for_reader(e, chair=chair) for e in raw if chair or not (filtered and _unattributed(e))
    ]
    return JSONResponse(
        {
            "negotiation": negotiation_id,
            "entries": [e.to_json() for e in shown],
            "next_after": raw[-1].id if len(raw) == query["limit"] else None,
        }
    )


def _log(request: Request) -> AuditLog:
    log = getattr(request.app.state, "audit", None)
    return log if log is not None else AuditLog(request.app.state.store)


# A promoted balloon is a formal proposal of its Party from then on: nothing to hide.
_HIDDEN_AUTHOR = BALLOON_ACTIONS - {AuditAction.BALLOON_PROMOTED}


def _unattributed(entry: AuditEntry) -> bool:
    return entry.action in _HIDDEN_AUTHOR and entry.detail.get("attributed") is not True


def _for_reader(entry: AuditEntry, *, chair: bool) -> AuditEntry:
    if chair or not _unattributed(entry):
        return entry
    return replace(entry, person="", party="")


def _query(request: Request) -> dict[str, Any]:
    params = request.query_params
    actions = [a.strip() for value in params.getlist("action") for a in value.split(",")]
    return {
        "party": params.get("party") or None,
        "person": params.get("person") or None,
        "actions": [a for a in actions if a] or None,
        "since": _time(params.get("since"), "since"),
        "until": _time(params.get("until"), "until"),
        "after_id": _integer(params.get("after"), "after", 0, minimum=0),
        "limit": _integer(params.get("limit"), "limit", DEFAULT_LIMIT, minimum=1),
    }


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400,
            f"{name} must be a time in ISO 8601 (2026-11-22 or 2026-11-22T21:30:00Z)",
            {name: value},
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _integer(value: str | None, name: str, default: int, *, minimum: int) -> int:
    if value is None or value == "":
        return default
    top = MAX_LIMIT if name == "limit" else None
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum or (top is not None and number > top):
        bounds = f"{minimum} to {top}" if top else f"{minimum} or more"
        raise ApiError(400, f"{name} must be a whole number, {bounds}", {name: value})
    return number


routes = [
    Route("/api/negotiations/{negotiation_id}/audit", negotiation_audit, methods=["GET"]),
]
