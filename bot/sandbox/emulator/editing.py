"""Method handlers that change sent messages: ``editMessageText``, ``editMessageCaption``,
``editMessageReplyMarkup`` (with "message is not modified" on a no-op edit, and an edit
without ``reply_markup`` removing the inline keyboard) and ``deleteMessage``.
"""

from __future__ import annotations

import time

from bot.sandbox.emulator.answers import _bad
from bot.sandbox.emulator.keyboards import _markup_equal, _reply_markup
from bot.sandbox.emulator.model import JSONDict, SentMessage, ServerEvent
from bot.sandbox.emulator.params import _parse_mode, _Request
from bot.sandbox.emulator.sending import _SendingMethods

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class _EditingMethods(_SendingMethods):
    """Edits and deletion of messages."""

    def _editable(self, req: _Request) -> SentMessage:
        if "inline_message_id" in req.params:
            raise _bad("inline messages are not supported by the fake server")
        chat = self._target_chat(req)
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        chat_id = int(chat["id"])
        sent = self._sent_index.get((chat_id, message_id))
        if sent is None or sent.deleted:
            if (chat_id, message_id) in self._messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return sent

    def _apply_edit(
        self,
        sent: SentMessage,
        *,
        key: str,
        text: str | None,
        raw_text: str | None,
        parse_mode: str | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        inline_markup = markup if markup is not None and "inline_keyboard" in markup else None
        current_inline = sent.raw.get("reply_markup")
        if (
            text == sent.text
            and raw_text == sent.raw_text
            and parse_mode == sent.parse_mode
            and _markup_equal(inline_markup, current_inline)
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        sent.edits.append((sent.text, sent.reply_markup))
        sent.text, sent.raw_text, sent.parse_mode = text, raw_text, parse_mode
        sent.reply_markup = inline_markup
        if text:
            sent.raw[key] = text
        else:
            sent.raw.pop(key, None)
        if inline_markup is None:
            sent.raw.pop("reply_markup", None)
        else:
            sent.raw["reply_markup"] = inline_markup
        sent.raw["edit_date"] = int(time.time())
        self._messages_signal.fire()
        self._emit(ServerEvent("edit", sent.chat_id, sent.message_id, sent))
        return sent.raw

    async def _edit_message_text(self, req: _Request) -> JSONDict:
        sent = self._editable(req)
        if "text" not in sent.raw:
            raise _bad("there is no text in the message to edit")
        raw_text = req.params.get("text")
        parse_mode = _parse_mode(req.params)
        text = self._render(raw_text, parse_mode, caption=False)
        return self._apply_edit(
            sent,
            key="text",
            text=text,
            raw_text=raw_text if isinstance(raw_text, str) else None,
            parse_mode=parse_mode,
            markup=_reply_markup(req.params),
        )

    async def _edit_message_caption(self, req: _Request) -> JSONDict:
        sent = self._editable(req)
        if sent.file is None:
            raise _bad("there is no caption in the message to edit")
        raw_caption = req.params.get("caption")
        parse_mode = _parse_mode(req.params)
        caption = self._render(raw_caption, parse_mode, caption=True) or None
        return self._apply_edit(
            sent,
            key="caption",
            text=caption,
            raw_text=raw_caption if isinstance(raw_caption, str) else None,
            parse_mode=parse_mode,
            markup=_reply_markup(req.params),
        )

    async def _edit_message_reply_markup(self, req: _Request) -> JSONDict:
        sent = self._editable(req)
        return self._apply_edit(
            sent,
            key="text" if sent.file is None else "caption",
            text=sent.text,
            raw_text=sent.raw_text,
            parse_mode=sent.parse_mode,
            markup=_reply_markup(req.params),
        )

    async def _delete_message(self, req: _Request) -> bool:
        chat = self._target_chat(req)
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        chat_id = int(chat["id"])
        if self._messages.pop((chat_id, message_id), None) is None:
            raise _bad("message to delete not found")
        sent = self._sent_index.get((chat_id, message_id))
        if sent is not None:
            sent.deleted = True
        self._messages_signal.fire()
        self._emit(ServerEvent("delete", chat_id, message_id, sent))
        return True
