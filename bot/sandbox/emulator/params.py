"""A Bot API request's parameters: read from the query string and a JSON, form or multipart
body (:func:`_read_params`, uploads attached where ``attach://`` names them), decoded by
field (:func:`_normalize`), handed to a method handler as :class:`_Request`, and read back by
type (:func:`_int_param`, :func:`_bool_param`, :func:`_parse_mode`...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox.emulator.answers import _bad
from bot.sandbox.emulator.model import JSONDict, UploadedFile

_INT_RE = re.compile(r"^-?\d+$")


_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "media",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "message_ids",
    }
)


_INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "duration",
        "width",
        "height",
    }
)


_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
    }
)


@dataclass
class _Request:
    method: str
    bot_user: JSONDict
    params: JSONDict


Handler = Callable[[_Request], Awaitable[Any]]


async def _read_params(request: web.Request) -> JSONDict:
    """Collect the parameters of a Bot API request from the query string and the body."""
    params: JSONDict = dict(request.query)
    uploads: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if request.can_read_body:
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise _bad("request body must be a JSON object")
            params.update(body)
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    data = await part.read(decode=False)
                    uploads[part.name] = UploadedFile(
                        part.name, part.filename, part.headers.get("Content-Type"), bytes(data)
                    )
                else:
                    params[part.name] = await part.text()
        elif content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    params = _normalize(params)
    return _attach_uploads(params, uploads)


def _normalize(params: JSONDict) -> JSONDict:
    out: JSONDict = {}
    for key, value in params.items():
        out[key] = _normalize_value(key, value)
    return out


def _normalize_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _INT_FIELDS and _INT_RE.match(value.strip()):
        return int(value)
    if key in _BOOL_FIELDS and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


def _attach_uploads(params: JSONDict, uploads: dict[str, UploadedFile]) -> JSONDict:
    """Replace ``attach://<name>`` references (aiogram's way) by the uploaded files; a file
    sent directly in the field it belongs to (``document=<file>``) becomes that field."""
    if not uploads:
        return params
    referenced: set[str] = set()

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if name in uploads:
                referenced.add(name)
                return uploads[name]
            return value
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    resolved = {k: resolve(v) for k, v in params.items()}
    for name, upload in uploads.items():
        if name not in referenced and name not in resolved:
            resolved[name] = upload
    return resolved


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _bad("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value)
    raise _bad(f"expected an integer, got {value!r}")


def _int_param(params: JSONDict, key: str, default: int) -> int:
    value = params.get(key)
    if value is None or value == "":
        return default
    return _as_int(value)


def _float_param(params: JSONDict, key: str, default: float) -> float:
    value = params.get(key)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"parameter {key!r} must be a number") from None


def _bool_param(params: JSONDict, key: str) -> bool:
    value = params.get(key)
    if isinstance(value, str):
        return value.lower() in {"true", "1"}
    return bool(value)


def _parse_mode(params: JSONDict) -> str | None:
    mode = params.get("parse_mode")
    if mode is None or mode == "":
        return None
    if not isinstance(mode, str):
        raise _bad("unsupported parse_mode")
    normal = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}.get(mode.lower())
    if normal is None:
        raise _bad(f"unsupported parse_mode {mode!r}")
    return normal


def _scope_key(scope: JSONDict | None) -> str:
    scope = dict(scope) if scope else {"type": "default"}
    for key in ("chat_id", "user_id"):
        value = scope.get(key)
        if isinstance(value, str) and _INT_RE.match(value):
            scope[key] = int(value)
    return json.dumps(scope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
