"""The people of a negotiation, managed by its chair over HTTP.

    GET    /api/negotiations/{id}/members            who acts for whom, with which role
    PUT    /api/negotiations/{id}/members/{login}    grant or change a role: {"role", "party"}
    DELETE /api/negotiations/{id}/members/{login}    revoke

A change applies at once to this process's live connections (`Rooms.recheck`): when the
response arrives, a revoked delegate's socket is already closed and nothing more of theirs
is accepted. Other processes notice within `rights_poll_seconds`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt_sync.accounts import AccountsError
from crdt_sync.rooms import Rooms
from drafting.vocabulary import Capability, Role
from web.auth import accounts_of, audit, negotiation_member
from web.errors import ApiError


async def _chair(request: Request) -> Any:
    negotiation_id = request.path_params["negotiation_id"]
    membership = await negotiation_member(request, negotiation_id, Capability.READ)
    if membership.role != Role.CHAIR:
        raise ApiError(403, "only the chair manages the people of a negotiation")
    return membership


async def list_members(request: Request) -> Response:
    negotiation_id = request.path_params["negotiation_id"]
    membership = await negotiation_member(request, negotiation_id, Capability.READ)
    if membership.role not in (Role.CHAIR, Role.SECRETARIAT):
        raise ApiError(403, "only the chair and the secretariat see who is in a negotiation")
    members = await run_in_threadpool(accounts_of(request).members, negotiation_id)
    return JSONResponse(
        [
            {"login": person.login, "name": person.name, "role": m.role.value, "party": m.party}
            for person, m in members
        ]
    )


async def grant(request: Request) -> Response:
    chair = await _chair(request)
    negotiation_id, login = request.path_params["negotiation_id"], request.path_params["login"]
    try:
        body = json.loads(await request.body() or b"{}")
        role, party = body["role"], body.get("party", "")
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, 'send {"role": "...", "party": "..."} as JSON') from None
    await _change(request, lambda a: a.grant(login, negotiation_id, role, party))
    await audit(
        request,
        "membership-granted",
        membership=chair,
        target=login,
        detail={"role": str(role), "party": party},
    )
    return Response(status_code=204)


async def revoke(request: Request) -> Response:
    chair = await _chair(request)
    negotiation_id, login = request.path_params["negotiation_id"], request.path_params["login"]
    await _change(request, lambda a: a.revoke(login, negotiation_id))
    await audit(request, "membership-revoked", membership=chair, target=login)
    return Response(status_code=204)


async def _change(request: Request, change: Any) -> None:
    negotiation_id = request.path_params["negotiation_id"]
    try:
        await run_in_threadpool(change, accounts_of(request))
    except AccountsError as error:
        raise ApiError(422, str(error)) from None
    rooms: Rooms = request.app.state.rooms
    await rooms.recheck([negotiation_id])


routes = [
    Route("/api/negotiations/{negotiation_id}/members", list_members, methods=["GET"]),
    Route("/api/negotiations/{negotiation_id}/members/{login}", grant, methods=["PUT"]),
    Route("/api/negotiations/{negotiation_id}/members/{login}", revoke, methods=["DELETE"]),
]
