"""The OpenAPI 3.1 description of the HTTP API, written by hand.

Hand-written rather than generated from docstrings so that the response shapes are
described too; tests check it is valid OpenAPI and that it names every route of the app.
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
        "required": ["id", "title", "kind", "url", "warnings"],
        "properties": {
            "id": {"type": "string"},
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


def _operation(
    operation_id: str,
    summary: str,
    path_params: list[str],
    query: list[dict[str, Any]] | None = None,
    body: dict[str, str] | None = None,
    ok: str = "200",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_path(p) for p in path_params] + (query or []),
        "responses": {
            ok: _json({"type": "object"}, summary),
            "400": _error("A wrong or missing parameter"),
            "404": _error("No such text, clause or revision"),
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string", "description": text}
                            for name, text in body.items()
                        },
                    }
                }
            },
        }
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
                body={"label": "e.g. Rev.2 (default: the next number)", "author": "who"},
                ok="201",
            ),
        },
        "/api/texts/{text_id}/revisions/{revision}": {
            "get": _operation("getRevision", "One revision", ["text_id", "revision"]),
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
                body={"to": "the revision to restore from", "person": "who", "party": "for"},
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
                    "summary": "Every stored text, oldest first, with its headline counts",
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("TextSummary")}, "The texts")
                    },
                },
                "post": {
                    "operationId": "importText",
                    "summary": "Import a text in UNFCCC-style Markdown and store it",
                    "requestBody": {
                        "required": True,
                        "description": f"The Markdown source (UTF-8), at most {max_upload_bytes} "
                        "bytes: raw, or as the field 'file' of a form.",
                        "content": {
                            "text/markdown": markdown,
                            "text/plain": markdown,
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
                    "responses": {
                        "201": {
                            **_json(_ref("Imported"), "Stored; warnings say what was repaired"),
                            "headers": {
                                "Location": {
                                    "description": "The new text's URL",
                                    "schema": {"type": "string"},
                                }
                            },
                        },
                        "400": _error("Empty, not UTF-8, or a form without a 'file' field"),
                        "413": _error("Larger than the server accepts"),
                        "415": _error("Neither text/markdown, text/plain nor a form"),
                        "422": _error("Not readable as a negotiation text (line and column)"),
                    },
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
                    "responses": {
                        "200": _json(_ref("TextDetail"), "The text"),
                        "404": _error("No text with that id"),
                    },
                },
            },
            "/api/texts/{text_id}/export": {
                "get": {
                    "operationId": "exportText",
                    "summary": "Download the text as Akoma Ntoso XML or Word",
                    "parameters": [
                        _path("text_id"),
                        _query("format", "akn or docx", ["akn", "docx"], required=True),
                        _query(
                            "mode",
                            "clean, negotiation (default) or redline",
                            ["clean", "negotiation", "redline"],
                        ),
                        _query("keep_brackets", "clean mode: keep open brackets visible"),
                        _query("language", "language of the expression, e.g. en"),
                        _query("from", "redline: the earlier text (an id)"),
                        _query("to", "redline: the later text (an id; default: this one)"),
                    ],
                    "responses": {
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
                        "404": _error("No text with that id"),
                        "409": _error("Clean export refused: brackets are still open (listed)"),
                    },
                }
            },
            **_history_paths(),
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
                }
            },
            "/": {
                "get": {
                    "operationId": "index",
                    "summary": "An HTML page listing the texts",
                    "responses": {
                        "200": {
                            "description": "HTML",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": _SCHEMAS},
    }
