"""Method handlers about chats that deliver no message: ``answerCallbackQuery``,
``sendChatAction``, ``getChat`` and ``getChatMember``.
"""

from __future__ import annotations

from bot.sandbox.emulator.answers import _bad
from bot.sandbox.emulator.model import JSONDict, ServerEvent
from bot.sandbox.emulator.params import _bool_param, _Request
from bot.sandbox.emulator.state import _ServerState


class _ChatMethods(_ServerState):
    """Button answers, chat actions and chat look-ups."""

    async def _answer_callback_query(self, req: _Request) -> bool:
        query_id = req.params.get("callback_query_id")
        query_id = str(query_id) if query_id is not None else ""
        if query_id not in self._callbacks or query_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = req.params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = dict(req.params)
        origin = self._callbacks[query_id]
        url = req.params.get("url")
        self._emit(
            ServerEvent(
                "callback_answer",
                origin["chat_id"],
                origin["message_id"],
                payload={
                    "user_id": origin["user_id"],
                    "message_id": origin["message_id"],
                    "text": text if isinstance(text, str) and text else None,
                    "show_alert": _bool_param(req.params, "show_alert"),
                    "url": url if isinstance(url, str) and url else None,
                },
            )
        )
        return True

    async def _send_chat_action(self, req: _Request) -> bool:
        chat = self._target_chat(req)
        action = req.params.get("action")
        if not action:
            raise _bad("action is empty")
        self._emit(ServerEvent("chat_action", int(chat["id"]), payload={"action": str(action)}))
        return True

    async def _get_chat(self, req: _Request) -> JSONDict:
        chat = self._known_chat(req.params.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, req: _Request) -> JSONDict:
        chat = self._known_chat(req.params.get("chat_id"))
        user_id = req.params.get("user_id")
        if user_id == req.bot_user["id"]:
            return {"status": "member", "user": req.bot_user}
        user = self._users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            raise _bad("user not found")
        if chat["type"] == "private" and chat["id"] != user.id:
            raise _bad("user not found")
        status = "kicked" if user.id in self._blocked else "member"
        if status == "kicked":
            return {"status": status, "user": user.to_dict(), "until_date": 0}
        return {"status": status, "user": user.to_dict()}
