"""The OpenAPI 3.1 description of the HTTP API, written by hand.

Hand-written rather than generated from docstrings so that the response shapes are
described too; tests check it is valid OpenAPI and that it names every route of the app.
Every operation needs the session cookie or a bearer token (`security` at the top) unless
it says `security: []`; changes made with the cookie also need the `X-CSRF-Token` header.
"""

from __future__ import annotations

from typing import Any

OPENAPI_VERSION = "3.1.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_UNAUTHORIZED = _error("Not signed in: no session cookie or bearer token, or an ended one")
_FORBIDDEN = _error(
    "The caller's role lacks the right this needs (the message names it), or a change "
    "made with the session cookie without the right X-CSRF-Token or from another origin"
)
_CSRF = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": False,
    "description": "The csrf value of the session (from POST or GET /api/session); needed "
    "on every change made with the session cookie, not with a bearer token.",
    "schema": {"type": "string"},
}
_PUBLIC: list[dict[str, list[str]]] = []  # `security: []`: no credentials needed

_SECURITY_SCHEMES = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "travaux_session",
        "description": "Set by POST /api/session (HttpOnly, SameSite=Lax, Secure on https). "
        "Unsafe methods (POST, PUT, PATCH, DELETE) also need the X-CSRF-Token header and, "
        "when the browser sends an Origin, this server's own.",
    },
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (trv_…) for scripts, made by an administrator.",
    },
}


def _protected(responses: dict[str, Any]) -> dict[str, Any]:
    return {**responses, "401": _UNAUTHORIZED, "403": _FORBIDDEN}


_COUNTS = {
    "type": "object",
    "description": "Counts of what is live in the text (deleted clauses, options that lost "
    "and lifted brackets are not counted): clauses, articles, brackets, alternatives, "
    "options, placeholders …; the full form adds per_status and per_party tables.",
    "additionalProperties": True,
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "description": "What went wrong, in words."},
            "detail": {"description": "Data about the error (line and column …) or null."},
        },
    },
    "TextSummary": {
        "type": "object",
        "required": ["id", "title", "kind", "created", "updated", "url", "statistics"],
        "properties": {
            "id": {"type": "string", "examples": ["k3mz8q2hwa"]},
            "negotiation": {"type": "string", "description": "The negotiation it belongs to"},
            "title": {"type": "string"},
            "kind": {
                "type": "string",
                "description": "treaty, joint-statement, resolution, declaration or decision",
            },
            "created": {"type": "string", "format": "date-time"},
            "updated": {"type": "string", "format": "date-time"},
            "url": {"type": "string"},
            "statistics": {**_COUNTS, "additionalProperties": {"type": "integer"}},
        },
    },
    "TextDetail": {
        "allOf": [
            _ref("TextSummary"),
            {
                "type": "object",
                "required": ["clean", "bracketed"],
                "properties": {
                    "statistics": _COUNTS,
                    "clean": {
                        "type": "object",
                        "required": ["text", "open_brackets"],
                        "properties": {
                            "text": {
                                "type": "string",
                                "description": "The text without brackets: lone brackets "
                                "kept, the first alternative and option taken.",
                            },
                            "open_brackets": {
                                "type": "integer",
                                "description": "Brackets and option blocks still open.",
                            },
                        },
                    },
                    "bracketed": {
                        "type": "string",
                        "description": "The text as negotiators print it.",
                    },
                },
            },
        ]
    },
    "ImportWarning": {
        "type": "object",
        "required": ["line", "column", "message"],
        "properties": {
            "line": {"type": "integer"},
            "column": {"type": "integer"},
            "message": {"type": "string"},
        },
    },
    "Imported": {
        "type": "object",
        "required": ["id", "title", "kind", "negotiation", "url", "warnings"],
        "properties": {
            "id": {"type": "string"},
            "negotiation": {"type": "string"},
            "title": {"type": "string"},
            "kind": {"type": "string"},
            "url": {"type": "string"},
            "warnings": {
                "type": "array",
                "items": _ref("ImportWarning"),
                "description": "What the importer repaired (unbalanced brackets …).",
            },
        },
    },
    "Person": {
        "type": "object",
        "required": ["id", "login", "name"],
        "properties": {
            "id": {"type": "string"},
            "login": {"type": "string"},
            "name": {"type": "string"},
        },
    },
    "Role": {
        "type": "object",
        "required": ["role", "party", "capabilities"],
        "properties": {
            "role": {
                "type": "string",
                "enum": [
                    "chair",
                    "secretariat",
                    "delegate",
                    "delegation viewer",
                    "observer",
                    "legal adviser",
                ],
            },
            "party": {
                "type": ["string", "null"],
                "description": "The Party the person acts for (null: none)",
            },
            "capabilities": {
                "type": "array",
                "items": {
                    "type": "string",
                    "enum": ["read", "table", "edit", "structure", "decide", "export"],
                },
            },
        },
    },
    "Membership": {
        "allOf": [
            _ref("Role"),
            {
                "type": "object",
                "required": ["negotiation"],
                "properties": {"negotiation": {"type": "string"}},
            },
        ]
    },
    "Session": {
        "type": "object",
        "required": ["person", "csrf"],
        "properties": {
            "person": _ref("Person"),
            "csrf": {
                "type": ["string", "null"],
                "description": "Send it as X-CSRF-Token with every change (null when "
                "signed in with a bearer token, which needs none)",
            },
            "expires": {"type": "string", "format": "date-time"},
            "credential": {"type": "string", "enum": ["session", "token"]},
            "memberships": {"type": "array", "items": _ref("Membership")},
        },
    },
    "Negotiation": {
        "allOf": [
            _ref("Role"),
            {
                "type": "object",
                "required": ["id", "name", "parties", "texts"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "parties": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["code", "name", "kind"],
                            "properties": {
                                "code": {"type": "string", "examples": ["EU"]},
                                "name": {"type": "string"},
                                "kind": {"type": "string", "enum": ["delegation", "group"]},
                            },
                        },
                    },
                    "texts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "title", "url"],
                            "properties": {
                                "id": {"type": "string"},
                                "title": {"type": "string"},
                                "url": {"type": "string"},
                            },
                        },
                    },
                },
            },
        ]
    },
}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(
    name: str, description: str, values: list[str] | None = None, *, required: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if values:
        schema["enum"] = values
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _format_and_mode() -> list[dict[str, Any]]:
    """The query parameters every export shares: which file, and which kind of text."""
    return [
        _query("format", "akn or docx", ["akn", "docx"], required=True),
        _query(
            "mode", "clean, negotiation (default) or redline", ["clean", "negotiation", "redline"]
        ),
    ]


def _operation(
    operation_id: str,
    summary: str,
    path_params: list[str],
    query: list[dict[str, Any]] | None = None,
    body: dict[str, str | dict[str, Any]] | None = None,
    ok: str = "200",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_path(p) for p in path_params]
        + (query or [])
        + ([_CSRF] if body is not None else []),
        "responses": _protected(
            {
                ok: _json({"type": "object"}, summary),
                "400": _error("A wrong or missing parameter"),
                "404": _error("No such text, clause or revision (or not one of yours)"),
            }
        ),
    }
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: text
                            if isinstance(text, dict)
                            else {"type": "string", "description": text}
                            for name, text in body.items()
                        },
                    }
                }
            },
        }
    return operation


def _export_revision() -> dict[str, Any]:
    """GET /api/texts/{id}/revisions/{revision}/export: a revision as a file, or a redline
    between two states of the text (either side a revision, now or a time)."""
    state = "a revision (its label or number), now, or an ISO 8601 time"
    operation = _operation(
        "exportRevision",
        "A revision as a file, or a Word redline between two states of the text",
        ["text_id", "revision"],
        [
            *_format_and_mode(),
            _query("language", "the expression's language"),
            _query("keep_brackets", "a clean export that keeps open brackets"),
            _query("from", f"redline (required): the earlier side, {state}"),
        ],
    )
    operation["description"] = (
        "In clean and negotiation modes, `revision` is a revision (its label or number) and "
        "the file is that revision as the text's own export makes one of the text now. In "
        "redline mode (format=docx), the file shows the changes from `from` to `revision` "
        f"as Word tracked changes (w:ins, w:del); each side is {state} — `now` being the "
        "text as everyone editing sees it — so Rev.1 to now is "
        "`/revisions/now/export?format=docx&mode=redline&from=Rev.1`."
    )
    operation["parameters"][1]["description"] = (
        f"a revision (its label or number); for a redline, the later side: {state}"
    )
    operation["responses"]["200"] = {
        "description": "The file, as an attachment",
        "content": {
            "application/akn+xml": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
    operation["responses"]["400"] = _error(
        "A wrong or missing parameter: a redline without `from` or not in Word, or `now` or "
        "a time where a revision is needed (clean and negotiation modes)"
    )
    operation["responses"]["404"] = _error(
        "No such text (or not one of yours), or no such revision, or a time before the "
        "text existed; for a redline the error names the side (`from: …`, `to: …`)"
    )
    operation["responses"]["409"] = _error("Clean export refused: brackets are still open (listed)")
    return operation


def _history_paths() -> dict[str, Any]:
    """Revisions, per-clause history, diffs and restore (web/history.py)."""
    text = ["text_id"]
    clause = ["text_id", "clause"]
    revision = _query("revision", "a revision label or number, or now")
    return {
        "/api/texts/{text_id}/revisions": {
            "get": _operation("listRevisions", "The text's revisions, oldest first", text),
            "post": _operation(
                "cutRevision",
                "Cut the next revision (immutable, hash-chained)",
                text,
                body={"label": "e.g. Rev.2 (default: the next number); the author is you"},
                ok="201",
            ),
        },
        "/api/texts/{text_id}/revisions/import": {
            "post": _operation(
                "importRevision",
                "Load a later draft (Markdown, raw or as the form field 'file') as the next "
                "revision of the same text, clauses matched across drafts (the chair)",
                text,
                body={"file": "the later draft"},
                ok="201",
            ),
        },
        "/api/texts/{text_id}/revisions/{revision}": {
            "get": _operation("getRevision", "One revision", ["text_id", "revision"]),
        },
        "/api/texts/{text_id}/revisions/{revision}/export": {
            "get": _export_revision(),
        },
        "/api/texts/{text_id}/verification": {
            "get": _operation("verifyRevisions", "Check the revisions' hash chain", text),
        },
        "/api/texts/{text_id}/clauses/{clause}/history": {
            "get": _operation(
                "clauseHistory",
                "Who changed a clause, what and when, grouped into readable entries",
                clause,
                [
                    _query("party", "only changes by this Party"),
                    _query("person", "only changes by this person"),
                    _query("kind", "only entries of this kind"),
                    _query("since", "ISO time"),
                    _query("until", "ISO time"),
                    _query("subtree", "include the clauses under it"),
                    _query("limit", "at most this many entries"),
                ],
            ),
        },
        "/api/texts/{text_id}/clauses/{clause}/at": {
            "get": _operation("clauseAt", "A clause as it stood at a revision", clause, [revision]),
        },
        "/api/texts/{text_id}/clauses/{clause}/restore": {
            "post": _operation(
                "restoreClause",
                "Give a clause an earlier wording, as a new attributed change",
                clause,
                body={"to": "the revision to restore from"},
            ),
        },
        "/api/texts/{text_id}/diff": {
            "get": _operation(
                "diff",
                "Word-level differences between two revisions (or now)",
                text,
                [
                    _query("from", "a revision label or number, or now", required=True),
                    _query("to", "a revision label or number, or now", required=True),
                    _query("clause", "one clause (an id or a citation such as Article 2.1(a))"),
                    _query("all", "include unchanged clauses"),
                ],
            ),
        },
    }


def openapi_document(max_upload_bytes: int) -> dict[str, Any]:
    markdown = {"schema": {"type": "string"}}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Travaux",
            "version": "0.1.0",
            "description": "Negotiation texts with their brackets, alternatives and options.",
        },
        "paths": {
            "/api/texts": {
                "get": {
                    "operationId": "listTexts",
                    "summary": "The texts of my negotiations, oldest first, with headline counts",
                    "responses": _protected(
                        {"200": _json({"type": "array", "items": _ref("TextSummary")}, "The texts")}
                    ),
                },
                "post": {
                    "operationId": "importText",
                    "summary": "Import a text (UNFCCC-style Markdown, a .docx or an Akoma Ntoso "
                    "file) into a negotiation (needs the structure right there)",
                    "parameters": [
                        _query("negotiation", "the negotiation the text is for", required=True),
                        _CSRF,
                    ],
                    "requestBody": {
                        "required": True,
                        "description": f"The Markdown source (UTF-8), a Word file or an Akoma "
                        f"Ntoso file, at most {max_upload_bytes} bytes: raw, or as the field "
                        "'file' of a form (the format is told by the file's name or content).",
                        "content": {
                            "text/markdown": markdown,
                            "text/plain": markdown,
                            **{
                                media: {"schema": {"type": "string", "format": "binary"}}
                                for media in (
                                    "application/vnd.openxmlformats-officedocument."
                                    "wordprocessingml.document",
                                    "application/akn+xml",
                                    "application/xml",
                                    "text/xml",
                                )
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": {
                                            "type": "string",
                                            "contentMediaType": "text/markdown",
                                        }
                                    },
                                }
                            },
                        },
                    },
                    "responses": _protected(
                        {
                            "201": {
                                **_json(_ref("Imported"), "Stored; warnings say what was repaired"),
                                "headers": {
                                    "Location": {
                                        "description": "The new text's URL",
                                        "schema": {"type": "string"},
                                    }
                                },
                            },
                            "400": _error(
                                "No negotiation given, empty, not UTF-8, or a form without a "
                                "'file' field"
                            ),
                            "404": _error("No such negotiation, or not one of yours"),
                            "413": _error("Larger than the server accepts"),
                            "415": _error("Not Markdown, Word, Akoma Ntoso nor a form"),
                            "422": _error("Not readable as a negotiation text (line and column)"),
                        }
                    ),
                },
            },
            "/api/texts/{text_id}": {
                "get": {
                    "operationId": "getText",
                    "summary": "One text: statistics, clean text and bracketed text",
                    "parameters": [
                        {
                            "name": "text_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": _protected(
                        {
                            "200": _json(_ref("TextDetail"), "The text"),
                            "404": _error("No text with that id (or not one of yours)"),
                        }
                    ),
                },
            },
            "/api/texts/{text_id}/export": {
                "get": {
                    "operationId": "exportText",
                    "summary": "Download the text as Akoma Ntoso XML or Word",
                    "parameters": [
                        _path("text_id"),
                        *_format_and_mode(),
                        _query("keep_brackets", "clean mode: keep open brackets visible"),
                        _query("language", "language of the expression, e.g. en"),
                        _query("from", "redline: the earlier text (an id)"),
                        _query("to", "redline: the later text (an id; default: this one)"),
                    ],
                    "responses": _protected(
                        {
                            "200": {
                                "description": "The file, as an attachment",
                                "content": {
                                    "application/akn+xml": {"schema": {"type": "string"}},
                                    "application/vnd.openxmlformats-officedocument"
                                    ".wordprocessingml.document": {
                                        "schema": {"type": "string", "format": "binary"}
                                    },
                                },
                            },
                            "400": _error("A wrong or missing parameter"),
                            "404": _error("No text with that id (or not one of yours)"),
                            "409": _error("Clean export refused: brackets are still open (listed)"),
                        }
                    ),
                }
            },
            **_history_paths(),
            **_session_paths(),
            **_negotiation_paths(),
            **_balloon_paths(),
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "security": _PUBLIC,
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
                }
            },
            "/": {
                "get": {
                    "operationId": "index",
                    "summary": "Who is signed in and the texts they may open (else a link "
                    "to /signin)",
                    "security": _PUBLIC,
                    "responses": {"200": _HTML},
                }
            },
            "/texts/{text_id}": {
                "get": {
                    "operationId": "draftingRoom",
                    "summary": "The drafting room of a text (an HTML shell; its script signs "
                    "in and opens the text over the WebSocket, where rights are checked)",
                    "security": _PUBLIC,
                    "parameters": [_path("text_id")],
                    "responses": {
                        "200": _HTML,
                        "503": {**_HTML, "description": "The browser bundle is not built"},
                    },
                }
            },
            "/signin": {
                "get": {
                    "operationId": "signInPage",
                    "summary": "The sign-in page",
                    "security": _PUBLIC,
                    "responses": {"200": _HTML},
                }
            },
        },
        "security": [{"sessionCookie": []}, {"bearerToken": []}],
        "components": {"schemas": _SCHEMAS, "securitySchemes": _SECURITY_SCHEMES},
    }


_HTML = {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}


def _negotiation_paths() -> dict[str, Any]:
    """A negotiation's people (web/members.py) and audit log (web/audit.py)."""
    negotiation = ["negotiation_id"]
    member = ["negotiation_id", "login"]
    return {
        "/api/negotiations/{negotiation_id}/members": {
            "get": _operation(
                "listMembers",
                "Who acts for whom, with which role (chair, secretariat)",
                negotiation,
            ),
        },
        "/api/negotiations/{negotiation_id}/members/{login}": {
            "put": _operation(
                "grantRole",
                "Give a person a role, or change it (the chair)",
                member,
                body={"role": "chair, secretariat, delegate …", "party": "the Party, if any"},
                ok="204",
            ),
            "delete": {
                **_operation("revokeRole", "Take a person's role away (the chair)", member),
                "parameters": [_path("negotiation_id"), _path("login"), _CSRF],
            },
        },
        "/api/negotiations/{negotiation_id}/audit": {
            "get": _operation(
                "negotiationAudit",
                "The negotiation's audit log, oldest first (chair, secretariat)",
                negotiation,
                [
                    _query("party", "only entries of this Party"),
                    _query("person", "only entries of this person (login)"),
                    _query("action", "only these actions (repeated, or a,b)"),
                    _query("since", "ISO time"),
                    _query("until", "ISO time"),
                    _query("after", "the next_after of the previous page"),
                    _query("limit", "at most this many entries (1 … 5000, default 500)"),
                ],
            ),
        },
    }


def _balloon_paths() -> dict[str, Any]:
    """Trial balloons (web/balloons.py): only ever shown to the scope they were floated in."""
    text = ["text_id"]
    balloon = ["text_id", "balloon_id"]
    scope = {
        "description": "chair, all, or {kind: parties, parties: [codes]}",
        "oneOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "kind": {"type": "string"},
                    "parties": {"type": "array", "items": {"type": "string"}},
                },
            },
        ],
    }
    return {
        "/api/texts/{text_id}/balloons": {
            "get": _operation("listBalloons", "The trial balloons I may see", text),
            "post": _operation(
                "floatBalloon",
                "Float a trial balloon in my Party's name (a delegate)",
                text,
                body={
                    "scope": scope,
                    "attributed": {"type": "boolean", "description": "name my Party (default)"},
                    "clause": "the clause id",
                    "at": {"type": "integer", "description": "where in its words"},
                    "words": "the words floated",
                },
                ok="201",
            ),
        },
        "/api/texts/{text_id}/balloons/{balloon_id}": {
            "delete": {
                **_operation(
                    "withdrawBalloon",
                    "Withdraw it: its words are purged everywhere (its Party, or the chair)",
                    balloon,
                    ok="204",
                ),
                "parameters": [_path("text_id"), _path("balloon_id"), _CSRF],
            },
        },
        "/api/texts/{text_id}/balloons/{balloon_id}/promote": {
            "post": _operation(
                "promoteBalloon",
                "Table the balloon as a formal proposal of its Party",
                balloon,
                body={},
                ok="201",
            ),
        },
    }


def _session_paths() -> dict[str, Any]:
    """Sign-in, who am I, sign-out (web/auth.py), and my negotiations."""
    credentials = {
        "type": "object",
        "required": ["login", "password"],
        "properties": {"login": {"type": "string"}, "password": {"type": "string"}},
    }
    return {
        "/api/session": {
            "post": {
                "operationId": "signIn",
                "summary": "Sign in: sets the session cookie; answers with the csrf token",
                "security": _PUBLIC,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": credentials}},
                },
                "responses": {
                    "200": {
                        **_json(_ref("Session"), "Signed in"),
                        "headers": {
                            "Set-Cookie": {
                                "description": "travaux_session=…; HttpOnly; SameSite=Lax; "
                                "Path=/; Max-Age=<session lifetime> (Secure on https)",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    "400": _error("Not a JSON object with a login and a password"),
                    "401": _error("Wrong login or password (one message for both)"),
                    "403": _error("Sent from a page of another origin"),
                    "415": _error("Not application/json (forms are refused)"),
                },
            },
            "get": {
                "operationId": "whoAmI",
                "summary": "Who I am, my csrf token and my roles",
                "responses": _protected({"200": _json(_ref("Session"), "Signed in")}),
            },
            "delete": {
                "operationId": "signOut",
                "summary": "Sign out: the session is revoked on the server, the cookie cleared",
                "parameters": [_CSRF],
                "responses": _protected(
                    {
                        "204": {"description": "Signed out"},
                        "400": _error("Signed in with a bearer token: there is no session"),
                    }
                ),
            },
        },
        "/api/negotiations": {
            "get": {
                "operationId": "listNegotiations",
                "summary": "My negotiations: their Parties, my role there, their texts",
                "responses": _protected(
                    {"200": _json({"type": "array", "items": _ref("Negotiation")}, "Mine")}
                ),
            }
        },
    }
