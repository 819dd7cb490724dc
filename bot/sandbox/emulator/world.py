"""The test's side of the simulated world: users and groups, blocking, and what users do
(``push_text``, ``push_document``, ``push_photo``, ``push_callback``,
``press``), each becoming an update the bot fetches with ``getUpdates``.
"""

from __future__ import annotations

import json
import time

from bot.sandbox.emulator.files import _fake_content, _FileStore
from bot.sandbox.emulator.model import (
    FakeChat,
    FakeUser,
    JSONDict,
    SentMessage,
    ServerEvent,
    _chat_id_of,
)


class _World(_FileStore):
    """Users, groups and what they do (the updates the bot receives)."""

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        username: str | None = None,
        last_name: str | None = None,
        *,
        language_code: str | None = "ru",
        started: bool = True,
    ) -> FakeUser:
        """Create (or replace) a user; their private chat id equals ``user_id``.

        ``started=False`` imitates a user who never opened the bot: sends to them answer
        403 "Forbidden: bot can't initiate conversation with a user" until the user pushes
        anything (``push_text`` etc.).
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = FakeUser(user_id, first_name, username, last_name, language_code)
        self._users[user_id] = user
        if started:
            self._not_started.discard(user_id)
        else:
            self._not_started.add(user_id)
        return user

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        chat_type: str = "supergroup",
        username: str | None = None,
    ) -> FakeChat:
        """Create (or replace) a group/supergroup/channel chat (``chat_id`` must be negative)."""
        if chat_id >= 0:
            raise ValueError("group and channel ids are negative")
        if chat_type not in {"group", "supergroup", "channel"}:
            raise ValueError(f"unknown chat type {chat_type!r}")
        chat = FakeChat(chat_id, title, chat_type, username)
        self._groups[chat_id] = chat
        return chat

    def block(self, user: FakeUser | int) -> None:
        """The user blocks the bot: every call aimed at their chat answers
        403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(_chat_id_of(user))

    def push_text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """The user sends a text message (to the private chat, or to ``chat``).

        A text starting with "/" gets a ``bot_command`` entity at offset 0 covering the
        first word (so ``/start CODE`` is a deep link). ``reply_to`` is the id of a message
        in the same chat being replied to. Returns the update dict.
        """
        fields: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16(command)}]
        return self._push_message(user, chat, fields, reply_to=reply_to)

    def push_document(
        self,
        user: FakeUser,
        file_name: str,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        *,
        content: bytes | None = None,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """The user sends a document; ``content`` (default: a small fake body) is what the
        bot downloads via ``getFile``. The file gets a fresh unique file_id. Returns the update.
        """
        if content is None:
            content = _fake_content(file_name, mime_type)
        file = self._new_file("document", content, file_name=file_name, mime_type=mime_type)
        fields: JSONDict = {"document": file.media_dict()}
        if caption is not None:
            fields["caption"] = caption
        return self._push_message(user, chat, fields)

    def push_photo(
        self,
        user: FakeUser,
        caption: str | None = None,
        *,
        content: bytes | None = None,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """The user sends a photo (two sizes, each with its own file_id). Returns the update."""
        if content is None:
            content = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
        file = self._new_file("photo", content, mime_type="image/jpeg")
        fields: JSONDict = {"photo": file.media_dict()}
        if caption is not None:
            fields["caption"] = caption
        return self._push_message(user, chat, fields)

    def push_callback(
        self,
        user: FakeUser,
        message_id: int | SentMessage,
        data: str,
        *,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """The user presses an inline button with ``data`` under a message the bot sent.

        The message must exist in that chat (the private chat, or ``chat``) and not be
        deleted; the callback_query carries it, in its current state, as ``message``.
        Returns the update; its ``callback_query.id`` is what ``answerCallbackQuery`` expects.
        """
        chat_id = chat.id if chat is not None else user.id
        mid = message_id.message_id if isinstance(message_id, SentMessage) else message_id
        sent = self._sent_index.get((chat_id, mid))
        if sent is None or sent.deleted:
            raise ValueError(
                f"the bot has no (undeleted) message {mid} in chat {chat_id}; "
                f"it sent: {[m.message_id for m in self._sent.get(chat_id, [])]}"
            )
        self._user_acts(user)
        query_id = str(next(self._callback_seq))
        self._callbacks[query_id] = {"user_id": user.id, "chat_id": chat_id, "message_id": mid}
        query: JSONDict = {
            "id": query_id,
            "from": user.to_dict(),
            "message": json.loads(json.dumps(sent.raw)),
            "chat_instance": f"{abs(chat_id)}{user.id % 1000:03d}",
            "data": data,
        }
        return self._push_update("callback_query", query)

    def press(
        self,
        user: FakeUser,
        message: SentMessage,
        button_text: str,
        *,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """Press a button of ``message`` by its text (exact, else unique substring).

        An inline callback button pushes a callback_query; a reply-keyboard button pushes
        its text as a message. Returns the update. URL buttons cannot be pressed.
        """
        text, value = message.button(button_text)
        markup = message.reply_markup or {}
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    if button.get("text") == text and "callback_data" in button:
                        return self.push_callback(
                            user, message.message_id, button["callback_data"], chat=chat
                        )
            raise ValueError(f"button {text!r} is not a callback button ({value!r})")
        return self.push_text(user, text, chat=chat)

    def _push_message(
        self,
        user: FakeUser,
        chat: FakeChat | None,
        fields: JSONDict,
        *,
        reply_to: int | None = None,
    ) -> JSONDict:
        if user.id not in self._users:
            self._users[user.id] = user
        self._user_acts(user)
        chat_dict = user.chat_dict() if chat is None else chat.chat_dict()
        chat_id = int(chat_dict["id"])
        if chat is not None and chat.id not in self._groups:
            self._groups[chat.id] = chat
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": user.to_dict(),
            "chat": chat_dict,
            "date": int(time.time()),
            **fields,
        }
        if reply_to is not None:
            replied = self._messages.get((chat_id, reply_to))
            if replied is None:
                raise ValueError(f"no message {reply_to} in chat {chat_id} to reply to")
            message["reply_to_message"] = replied
        self._messages[(chat_id, message["message_id"])] = message
        update = self._push_update("message", message)
        self._emit(ServerEvent("user_message", chat_id, message["message_id"], payload=message))
        return update

    def _user_acts(self, user: FakeUser) -> None:
        self._not_started.discard(user.id)
        self._blocked.discard(user.id)

    def _push_update(self, kind: str, payload: JSONDict) -> JSONDict:
        update: JSONDict = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._updates_signal.fire()
        return update


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
