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
