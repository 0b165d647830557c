"""Who is calling, and may they? Sign-in, sessions, CSRF, and the rights of every API call.

    POST   /api/session   sign in: JSON {"login", "password"} → the session cookie + csrf
    GET    /api/session   who I am, my csrf token, my memberships
    DELETE /api/session   sign out: the session is revoked on the server, the cookie cleared
    GET    /signin        the sign-in page

A browser is identified by the `travaux_session` cookie (HttpOnly, SameSite=Lax, Secure on
https or with TRAVAUX_SECURE_COOKIES=1); a script by `Authorization: Bearer trv_…`.
Every unsafe request (POST, PUT, PATCH, DELETE) that relies on the cookie must carry the
session's csrf token in `X-CSRF-Token` and, if it has an `Origin`, come from this server's
own origin; a bearer token is never sent by a browser on its own, so it needs neither.

`member(request, text_id, capability)` is what every text route asks first: the caller's
membership in the negotiation of that text, if their role has `capability`. A text that
does not exist and a text of a negotiation the caller is not in are the same 404, so that
nobody learns which text ids exist; a text outside every negotiation is reachable by
nobody over HTTP. The accounts live in `request.app.state.accounts` (synchronous SQL, run
in the thread pool), the audit log in `request.app.state.audit`.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from crdt_sync.accounts import (
    Accounts,
    AccountsError,
    Identity,
    Membership,
    NotSignedIn,
    SignInRefused,
)
from crdt_sync.store import UnknownText, is_scoped_document_id
from drafting.history import make_origin
from drafting.vocabulary import Capability
from web.errors import ApiError
from web.throttle import SignInThrottle

SESSION_COOKIE = "travaux_session"
CSRF_HEADER = "X-CSRF-Token"
SECURE_COOKIES_ENV = "TRAVAUX_SECURE_COOKIES"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_SIGN_IN_BYTES = 16 * 1024
MAX_LOGIN_LOGGED = 200  # of a refused sign-in: what was tried, not a 16 KB payload
_DEFAULT_PORTS = {"http": 80, "https": 443}


def accounts_of(connection: HTTPConnection) -> Accounts:
    return connection.app.state.accounts


# -- who is calling ----------------------------------------------------------------------------


async def identify(connection: HTTPConnection) -> Identity:
    """The signed-in caller, by bearer token or session cookie; 401 if neither holds.

    An unsafe request on the cookie is checked against CSRF here, so that no route can
    forget it. (The WebSocket endpoint, `web.sync`, identifies its connections itself.)"""
    cached = connection.scope.get("travaux.identity")
    if cached is not None:
        return cached
    accounts = accounts_of(connection)
    token = _bearer(connection)
    csrf: str | None = None
    if token is not None:
        try:
            identity = await run_in_threadpool(accounts.authenticate_token, token)
        except NotSignedIn:
            raise _unauthorized("this API token is unknown, expired or revoked") from None
    else:
        cookie = connection.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise _unauthorized(
                "sign in first: POST /api/session with your login and password, "
                "or send Authorization: Bearer <API token>"
            )
        try:
            identity, csrf = await run_in_threadpool(accounts.authenticate_session, cookie)
        except NotSignedIn:
            raise _unauthorized(
                "your session has ended (signed out or expired): sign in again",
                clear_cookie=True,
            ) from None
        if connection.scope.get("method", "GET") in UNSAFE_METHODS:
            _check_csrf(connection, csrf)
    connection.scope["travaux.identity"] = identity
    connection.scope["travaux.csrf"] = csrf
    return identity


def _bearer(connection: HTTPConnection) -> str | None:
    authorization = connection.headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be: Bearer <API token>")
    return token.strip()


def _unauthorized(error: str, *, clear_cookie: bool = False) -> ApiError:
    headers = {"WWW-Authenticate": 'Bearer realm="travaux"'}
    if clear_cookie:
        headers["Set-Cookie"] = f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    return ApiError(401, error, None, headers=headers)


def _check_csrf(connection: HTTPConnection, csrf: str | None) -> None:
    check_origin(connection)
    sent = connection.headers.get(CSRF_HEADER)
    if not sent:
        raise ApiError(
            403,
            f"a change made with the session cookie must carry the {CSRF_HEADER} header: "
            "the csrf value that sign-in (or GET /api/session) returned",
            {"header": CSRF_HEADER},
        )
    if csrf is None or not hmac.compare_digest(sent.encode(), csrf.encode()):
        raise ApiError(
            403,
            f"the {CSRF_HEADER} header does not match this session's csrf token: "
            "read it again from GET /api/session",
            {"header": CSRF_HEADER},
        )


def foreign_origin(connection: HTTPConnection) -> str | None:
    """The `Origin` of a request made by another site's page; None when it names none, or
    this server (whose pages open WebSockets too: ws is http's, wss https's)."""
    origin = connection.headers.get("origin")
    if origin is None:
        return None
    scheme = _PAGE_SCHEMES.get(connection.url.scheme, connection.url.scheme)
    own = _origin_key(f"{scheme}://{connection.url.netloc}")
    return origin if origin == "null" or _origin_key(origin) != own else None


def check_origin(connection: HTTPConnection) -> None:
    """403 unless the request has no `Origin` or this server's own."""
    origin = foreign_origin(connection)
    if origin is not None:
        raise ApiError(
            403,
            f"a request from {origin} may not act on this server's session cookie: "
            f"only pages of {connection.url.scheme}://{connection.url.netloc} may",
            {"origin": origin},
        )


_PAGE_SCHEMES = {"ws": "http", "wss": "https"}


def _origin_key(origin: str) -> tuple[str, str, int | None]:
    parts = urlsplit(origin.strip().lower())
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # not a port number: matches no origin of ours
        port = -1
    return parts.scheme, parts.hostname or "", port


# -- may they? --------------------------------------------------------------------------------


async def member(
    connection: HTTPConnection, text_id: str, capability: Capability, *, doing: str = ""
) -> Membership:
    """The caller's membership in the negotiation of `text_id`, if it grants `capability`:
    404 as for a missing text when they are not in that negotiation, 403 when their role
    lacks the capability (`doing` words the act: "cut a revision")."""
    identity = await identify(connection)
    accounts = accounts_of(connection)

    def find() -> Membership | None:
        try:
            negotiation_id = accounts.negotiation_of(text_id)
        except UnknownText:
            return None
        if negotiation_id is None or is_scoped_document_id(text_id):
            return None  # a text outside any negotiation, or a scoped document
        return accounts.membership(identity.person_id, negotiation_id)

    found = await run_in_threadpool(find)
    if found is None:
        raise no_text(text_id)
    require(found, capability, doing=doing)
    return found


async def negotiation_member(
    connection: HTTPConnection, negotiation_id: str, capability: Capability, *, doing: str = ""
) -> Membership:
    """The caller's membership in a negotiation named by its id (404 if they have none)."""
    identity = await identify(connection)
    accounts = accounts_of(connection)
    found = await run_in_threadpool(accounts.membership, identity.person_id, negotiation_id)
    if found is None:
        raise ApiError(
            404, f"no negotiation with id {negotiation_id!r}", {"negotiation": negotiation_id}
        )
    require(found, capability, doing=doing)
    return found


def require(membership: Membership, capability: Capability, *, doing: str = "") -> None:
    if membership.actor.may(capability):
        return
    role = membership.role.value
    error = f"{'an' if role[0] in 'aeiou' else 'a'} {role} may not {doing or capability.value}"
    if doing:
        error += f" (it takes the {capability.value} right)"
    raise ApiError(
        403,
        error,
        {"role": role, "party": membership.party or None, "capability": capability.value},
    )


def no_text(text_id: str) -> ApiError:
    return ApiError(404, str(UnknownText(text_id)), {"id": text_id})


def membership_json(membership: Membership) -> dict[str, Any]:
    return {
        "negotiation": membership.negotiation_id,
        "role": membership.role.value,
        "party": membership.party or None,
        "capabilities": sorted(c.value for c in membership.actor.capabilities),
    }


def person_json(identity: Identity) -> dict[str, Any]:
    return {"id": identity.person_id, "login": identity.login, "name": identity.name}


def origin_of(identity: Identity, membership: Membership, source: str = "http", **tags: str) -> str:
    """How the update log names a change: its source, then the person (by login, as the
    history shows them) and the Party they act for (`drafting.history` tags)."""
    return make_origin(source, person=identity.login, party=membership.party, **tags)


# -- the audit log -----------------------------------------------------------------------------


async def audit(
    connection: HTTPConnection,
    action: str,
    *,
    membership: Membership | None = None,
    text_id: str = "",
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record `action` by the caller in the audit log, if the app keeps one: the person by
    login, as the rooms record them, and the Party they act for."""
    log = getattr(connection.app.state, "audit", None)
    if log is None:
        return
    identity = connection.scope.get("travaux.identity")
    await run_in_threadpool(
        lambda: log.record(
            action,
            person=identity.login if identity is not None else "",
            party=membership.party if membership is not None else "",
            negotiation_id=membership.negotiation_id if membership is not None else "",
            text_id=text_id,
            target=target,
            detail=detail,
        )
    )


# -- sessions ----------------------------------------------------------------------------------


def secure_cookies(connection: HTTPConnection) -> bool:
    return connection.url.scheme == "https" or os.environ.get(SECURE_COOKIES_ENV) == "1"


async def sign_in(request: Request) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            415,
            'sign in with JSON: {"login": …, "password": …} as application/json',
            {"content_type": media_type or None, "accepted": ["application/json"]},
        )
    check_origin(request)  # nobody else's page may sign a browser in to this server
    login, password = _credentials(await _read_body(request))
    accounts = accounts_of(request)
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = request.client.host if request.client else ""
    wait = throttle.retry_after(login, address)
    if wait is not None:
        await audit(request, "sign-in-refused", detail={"login": await _known(request, login)})
        raise ApiError(
            429,
            f"too many failed sign-ins: try again in {wait} seconds",
            {"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    try:
        signed = await run_in_threadpool(accounts.sign_in, login, password)
    except SignInRefused as refused:
        throttle.failed(login, address)
        # The same words for an unknown login and a wrong password (Accounts sees to it).
        await audit(request, "sign-in-refused", detail={"login": await _known(request, login)})
        raise ApiError(401, str(refused), None) from None
    throttle.succeeded(login)
    request.scope["travaux.identity"] = signed.identity
    await audit(request, "sign-in", detail={"login": signed.identity.login})
    response = JSONResponse(
        {
            "person": person_json(signed.identity),
            "csrf": signed.csrf_token,
            "expires": signed.expires.isoformat(),
        }
    )
    response.set_cookie(
        SESSION_COOKIE,
        signed.session_token,
        max_age=int(accounts.session_lifetime.total_seconds()),
        path="/",
        secure=secure_cookies(request),
        httponly=True,
        samesite="lax",
    )
    return response


async def _known(request: Request, login: str) -> str:
    """The login tried, for the audit log, if it names someone: a password typed into the
    login field by mistake must not stay in the log for good."""
    accounts = accounts_of(request)

    def lookup() -> str:
        try:
            return accounts.person(login).login
        except AccountsError:
            return "(unknown login)"

    return (await run_in_threadpool(lookup))[:MAX_LOGIN_LOGGED]


async def _read_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SIGN_IN_BYTES:
            raise ApiError(413, f"a sign-in is smaller than {MAX_SIGN_IN_BYTES} bytes")
    return body


def _credentials(body: bytes) -> tuple[str, str]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, 'the body must be a JSON object: {"login": …, "password": …}')
    login, password = data.get("login"), data.get("password")
    if not isinstance(login, str) or not isinstance(password, str) or not login:
        raise ApiError(400, "login and password must both be given, as strings")
    return login.strip(), password


async def who_am_i(request: Request) -> Response:
    identity = await identify(request)
    accounts = accounts_of(request)
    memberships = await run_in_threadpool(accounts.memberships, identity.person_id)
    return JSONResponse(
        {
            "person": person_json(identity),
            "credential": identity.credential.partition(":")[0],
            "csrf": request.scope.get("travaux.csrf"),
            "memberships": [membership_json(m) for m in memberships],
        }
    )


async def sign_out(request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    identity = await identify(request)
    if not identity.credential.startswith("session:") or not cookie:
        raise ApiError(
            400,
            "signing out ends a browser session; this request has none "
            "(an API token is revoked by whoever issued it)",
        )
    await run_in_threadpool(accounts_of(request).sign_out, cookie)
    await audit(request, "sign-out")
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure_cookies(request), httponly=True, samesite="lax"
    )
    return response


async def sign_in_page(request: Request) -> HTMLResponse:
    return HTMLResponse(SIGN_IN_PAGE)


SIGN_IN_PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Sign in · Travaux</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.4rem 1rem}#error{color:#a00}</style>
<h1>Travaux</h1>
<form id="signin">
<label for="login">Login</label>
<input id="login" name="login" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button>Sign in</button>
<p id="error" role="alert"></p>
</form>
<script>
document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  const response = await fetch("/api/session", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({
      login: document.getElementById("login").value,
      password: document.getElementById("password").value,
    }),
  });
  if (response.ok) {
    window.location.assign("/");
  } else {
    error.textContent = (await response.json()).error;
  }
});
</script>
</html>
"""

routes = [
    Route("/api/session", sign_in, methods=["POST"]),
    Route("/api/session", who_am_i, methods=["GET"]),
    Route("/api/session", sign_out, methods=["DELETE"]),
    Route("/signin", sign_in_page, methods=["GET"]),
]
