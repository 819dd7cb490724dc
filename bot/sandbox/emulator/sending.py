"""Method handlers that deliver messages (``sendMessage``, ``send<Media>``,
``sendMediaGroup``, ``copyMessage``, ``forwardMessage``): text rendering with Telegram's
parsing errors and length limits, replies, the rate limit each send counts against, and the
delivery into the chat.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.sandbox.emulator.answers import _bad
from bot.sandbox.emulator.files import _FileStore
from bot.sandbox.emulator.formatting import _EntityError, _render_markup
from bot.sandbox.emulator.keyboards import _reply_markup
from bot.sandbox.emulator.limits import CAPTION_LIMIT, TEXT_LIMIT, _too_many
from bot.sandbox.emulator.model import FakeFile, JSONDict, SentMessage, ServerEvent
from bot.sandbox.emulator.params import Handler, _as_int, _bool_param, _parse_mode, _Request


class _SendingMethods(_FileStore):
    """The send methods and the steps they share."""

    async def _send_message(self, req: _Request) -> JSONDict:
        chat = self._target_chat(req)
        raw_text = req.params.get("text")
        parse_mode = _parse_mode(req.params)
        text = self._render(raw_text, parse_mode, caption=False)
        markup = _reply_markup(req.params)
        reply_to = self._reply_to(req.params, chat)
        self._admit_send(int(chat["id"]))
        sent = self._deliver(
            req,
            chat,
            {"text": text},
            raw_text=raw_text if isinstance(raw_text, str) else None,
            parse_mode=parse_mode,
            markup=markup,
            reply_to=reply_to,
        )
        return sent.raw

    def _send_media(self, kind: str) -> Handler:
        async def send(req: _Request) -> JSONDict:
            chat = self._target_chat(req)
            file = self._resolve_file(req.params.get(kind), kind)
            raw_caption = req.params.get("caption")
            parse_mode = _parse_mode(req.params)
            caption = self._render(raw_caption, parse_mode, caption=True)
            markup = _reply_markup(req.params)
            reply_to = self._reply_to(req.params, chat)
            self._admit_send(int(chat["id"]))
            sent = self._deliver(
                req,
                chat,
                _media_fields(file, caption),
                raw_text=raw_caption if isinstance(raw_caption, str) else None,
                parse_mode=parse_mode,
                markup=markup,
                reply_to=reply_to,
                file=file,
            )
            return sent.raw

        return send

    async def _send_media_group(self, req: _Request) -> list[JSONDict]:
        chat = self._target_chat(req)
        media = req.params.get("media")
        if not isinstance(media, list) or not media:
            raise _bad('parameter "media" is required')
        if not 2 <= len(media) <= 10:
            raise _bad("media group must contain 2-10 items")
        prepared: list[tuple[FakeFile, str, str | None, str | None]] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in {
                "photo",
                "video",
                "document",
                "audio",
            }:
                raise _bad("can't parse InputMedia: media type is invalid")
            file = self._resolve_file(item.get("media"), str(item["type"]))
            raw_caption = item.get("caption")
            mode = _parse_mode(item) or _parse_mode(req.params)
            caption = self._render(raw_caption, mode, caption=True)
            prepared.append(
                (file, caption, raw_caption if isinstance(raw_caption, str) else None, mode)
            )
        reply_to = self._reply_to(req.params, chat)
        self._admit_send(int(chat["id"]))
        group_id = str(next(self._media_group_seq))
        results = []
        for file, caption, item_raw_caption, mode in prepared:
            sent = self._deliver(
                req,
                chat,
                {**_media_fields(file, caption), "media_group_id": group_id},
                raw_text=item_raw_caption,
                parse_mode=mode,
                markup=None,
                reply_to=reply_to,
                file=file,
                media_group_id=group_id,
            )
            results.append(sent.raw)
        return results

    async def _copy_message(self, req: _Request) -> JSONDict:
        chat = self._target_chat(req)
        source = self._source_message(req, "message to copy not found")
        fields = _content_fields(source)
        if not fields:
            raise _bad("message can't be copied")
        file = self._file_of(source)
        parse_mode = _parse_mode(req.params)
        raw_text: str | None = source.get("text", source.get("caption"))
        if "caption" in req.params and file is not None:
            raw_caption = req.params["caption"]
            fields["caption"] = self._render(raw_caption, parse_mode, caption=True)
            raw_text = raw_caption if isinstance(raw_caption, str) else None
            if not fields["caption"]:
                del fields["caption"]
        else:
            parse_mode = None
        markup = _reply_markup(req.params)
        reply_to = self._reply_to(req.params, chat)
        self._admit_send(int(chat["id"]))
        sent = self._deliver(
            req,
            chat,
            fields,
            raw_text=raw_text,
            parse_mode=parse_mode,
            markup=markup,
            reply_to=reply_to,
            file=file,
        )
        return {"message_id": sent.message_id}

    async def _forward_message(self, req: _Request) -> JSONDict:
        chat = self._target_chat(req)
        source = self._source_message(req, "message to forward not found")
        fields = _content_fields(source)
        if not fields:
            raise _bad("message can't be forwarded")
        origin_chat = source["chat"]
        origin: JSONDict
        if origin_chat.get("type") == "private":
            origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        else:
            origin = {"type": "chat", "date": source["date"], "sender_chat": origin_chat}
        fields["forward_origin"] = origin
        self._admit_send(int(chat["id"]))
        sent = self._deliver(
            req,
            chat,
            fields,
            raw_text=source.get("text", source.get("caption")),
            parse_mode=None,
            markup=None,
            reply_to=None,
            file=self._file_of(source),
        )
        return sent.raw

    def _source_message(self, req: _Request, not_found: str) -> JSONDict:
        from_chat = self._known_chat(req.params.get("from_chat_id"))
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        source = self._messages.get((int(from_chat["id"]), message_id))
        if source is None:
            raise _bad(not_found)
        return source

    def _reply_to(self, params: JSONDict, chat: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        message_id: Any = None
        allow_missing = _bool_param(params, "allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif "reply_to_message_id" in params:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        replied = self._messages.get((int(chat["id"]), _as_int(message_id)))
        if replied is None and not allow_missing:
            raise _bad("message to be replied not found")
        return replied

    def _render(self, raw: Any, parse_mode: str | None, *, caption: bool) -> str:
        """Visible text of a text/caption, with Telegram's parsing errors and limits."""
        text = "" if raw is None else str(raw)
        try:
            visible = _render_markup(text, parse_mode).strip()
        except _EntityError as exc:
            if not self.strict:
                return text
            raise _bad(f"can't parse entities: {exc}") from None
        if not self.strict:
            return visible
        if caption:
            if len(visible) > CAPTION_LIMIT:
                raise _bad("message caption is too long")
        elif not visible:
            raise _bad("message text is empty")
        elif len(visible) > TEXT_LIMIT:
            raise _bad("message is too long")
        return visible

    def _deliver(
        self,
        req: _Request,
        chat: JSONDict,
        fields: JSONDict,
        *,
        raw_text: str | None,
        parse_mode: str | None,
        markup: JSONDict | None,
        reply_to: JSONDict | None,
        file: FakeFile | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        chat_id = int(chat["id"])
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": req.bot_user,
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        sent = SentMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            method=req.method,
            text=fields.get("text", fields.get("caption")),
            raw_text=raw_text,
            parse_mode=parse_mode,
            reply_markup=markup,
            at=time.monotonic(),
            date=message["date"],
            media_type=file.kind if file is not None else None,
            file=file,
            media_group_id=media_group_id,
            reply_to_message_id=None if reply_to is None else reply_to["message_id"],
            raw=message,
        )
        self._sent.setdefault(chat_id, []).append(sent)
        self._sent_index[(chat_id, sent.message_id)] = sent
        self._messages_signal.fire()
        self._emit(ServerEvent("bot_message", chat_id, sent.message_id, sent))
        return sent

    # ------------------------------------------------------------------ rate limiting

    def _admit_send(self, chat_id: int) -> None:
        """Account one send; 429 when it would exceed the configured rate limit."""
        now = time.monotonic()
        limit = self.rate_limit
        window = limit.window if limit is not None else 1.0
        times = self._send_times
        while times and times[0] <= now - window:
            times.popleft()
        if limit is not None:
            last = self._last_chat_send.get(chat_id)
            if last is not None and now - last < limit.chat_interval:
                self.stats.rate_limited_chat += 1
                raise _too_many(last + limit.chat_interval - now, limit)
            if len(times) >= limit.per_second:
                self.stats.rate_limited_global += 1
                raise _too_many(times[0] + window - now, limit)
        times.append(now)
        self._last_chat_send[chat_id] = now
        self.stats.sends_accepted += 1
        self.stats.peak_per_second = max(self.stats.peak_per_second, len(times))


def _media_fields(file: FakeFile, caption: str | None) -> JSONDict:
    fields: JSONDict = {file.kind: file.media_dict()}
    if caption:
        fields["caption"] = caption
    return fields


def _content_fields(message: JSONDict) -> JSONDict:
    keys = (
        "text",
        "caption",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "animation",
        "contact",
        "sticker",
        "location",
    )
    return {k: json.loads(json.dumps(message[k])) for k in keys if k in message}
