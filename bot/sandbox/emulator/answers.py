"""How the server refuses a request: the Bot API's JSON error (:class:`_ApiError`; a 400
from :func:`_bad`), a proxy's HTML error page (:class:`_HtmlError`) or a dropped connection
(:class:`_ResetError`), with Telegram's usual descriptions and nginx's page.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.model import JSONDict


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


class _HtmlError(Exception):
    """An answer that is not the Bot API's JSON: a proxy's HTML error page."""

    def __init__(self, code: int) -> None:
        super().__init__(f"{code} {_status_phrase(code)} (HTML)")
        self.code = code


class _ResetError(Exception):
    """Answer nothing: drop the connection."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _default_description(code: int, retry_after: int | None) -> str:
    if code == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(code, "Error")


def _status_phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def _nginx_page(code: int) -> str:
    """The error page nginx serves for a 5xx (its ``\\r\\n`` line ends included)."""
    title = f"{code} {_status_phrase(code)}"
    lines = [
        "<html>",
        f"<head><title>{title}</title></head>",
        "<body>",
        f"<center><h1>{title}</h1></center>",
        "<hr><center>nginx/1.18.0 (Ubuntu)</center>",
        "</body>",
        "</html>",
        "",
    ]
    return "\r\n".join(lines)


def _error_response(error: _ApiError) -> web.Response:
    body: JSONDict = {"ok": False, "error_code": error.code, "description": error.description}
    return web.json_response(body, status=error.code, dumps=_dumps)
