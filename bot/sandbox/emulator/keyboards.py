"""Reply markup as Telegram checks it: inline keyboards (button kinds, callback data of at
most 64 bytes, URLs), reply keyboards, keyboard removal, and the comparison an edit uses to
tell "message is not modified".
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.emulator.answers import _bad
from bot.sandbox.emulator.limits import CALLBACK_DATA_LIMIT
from bot.sandbox.emulator.model import JSONDict


def _reply_markup(params: JSONDict) -> JSONDict | None:
    markup = params.get("reply_markup")
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                "can't parse inline keyboard markup: "
                'field "inline_keyboard" must be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("can't parse reply keyboard markup JSON object")
    elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not any(key in button for key in _INLINE_ACTIONS):
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT
    ):
        raise _bad("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise _bad("BUTTON_URL_INVALID")


def _markup_equal(a: JSONDict | None, b: JSONDict | None) -> bool:
    def norm(markup: JSONDict | None) -> str:
        if not markup or not markup.get("inline_keyboard"):
            return ""
        return json.dumps(markup["inline_keyboard"], sort_keys=True)

    return norm(a) == norm(b)
