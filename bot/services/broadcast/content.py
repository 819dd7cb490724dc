"""What a broadcast says: its messages (:class:`ContentPart`, a text, a photo or a document),
their stored form in ``broadcasts.content``, and the check of Telegram's limits before a
broadcast is stored (:func:`validate_parts`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.services.errors import InputError
from bot.texts import broadcast as t
from storage.broadcast_models import Broadcast

__all__ = [
    "CAPTION_LIMIT",
    "MAX_PARTS",
    "TEXT_LIMIT",
    "ContentPart",
    "PartKind",
    "content_json",
    "parts_of",
    "validate_parts",
]

#: Bot API limits of a message text and of a media caption (characters after parsing; the
#: HTML markup counts here, which errs on the safe side).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_PARTS = 10


class PartKind(StrEnum):
    """What one message of a broadcast is."""

    TEXT = "text"
    PHOTO = "photo"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class ContentPart:
    """One message of a broadcast: an HTML ``text``, or a photo / document by Telegram
    ``file_id`` with an optional HTML caption (kept in ``text``)."""

    kind: PartKind
    text: str | None = None
    file_id: str | None = None

    @classmethod
    def of_text(cls, html: str) -> ContentPart:
        """A text message (HTML)."""
        return cls(PartKind.TEXT, text=html)

    @classmethod
    def photo(cls, file_id: str, caption: str | None = None) -> ContentPart:
        """A photo by file_id, with an optional HTML caption."""
        return cls(PartKind.PHOTO, text=caption or None, file_id=file_id)

    @classmethod
    def document(cls, file_id: str, caption: str | None = None) -> ContentPart:
        """A document by file_id, with an optional HTML caption."""
        return cls(PartKind.DOCUMENT, text=caption or None, file_id=file_id)

    def to_json(self) -> dict[str, Any]:
        """The part as stored in ``broadcasts.content``."""
        data: dict[str, Any] = {"kind": self.kind.value}
        if self.text is not None:
            data["text"] = self.text
        if self.file_id is not None:
            data["file_id"] = self.file_id
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContentPart:
        """A part read back from ``broadcasts.content``."""
        return cls(PartKind(data["kind"]), data.get("text"), data.get("file_id"))


def content_json(parts: Sequence[ContentPart]) -> dict[str, Any]:
    """``broadcasts.content`` for ``parts``."""
    return {"parts": [p.to_json() for p in parts]}


def parts_of(broadcast: Broadcast) -> list[ContentPart]:
    """The content parts of a stored broadcast."""
    return [ContentPart.from_json(p) for p in broadcast.content.get("parts", [])]


def validate_parts(parts: Sequence[ContentPart]) -> None:
    """Check a broadcast's content before it is stored.

    Raises:
        InputError: no part, more than ``MAX_PARTS``, an empty text, a photo or document
            without file_id, or a text / caption over Telegram's limit. The messages are in
            Russian (:mod:`bot.texts.broadcast`).
    """
    if not parts:
        raise InputError(t.BAD_EMPTY)
    if len(parts) > MAX_PARTS:
        raise InputError(t.bad_too_many_parts(MAX_PARTS))
    for part in parts:
        if part.kind is PartKind.TEXT:
            if not (part.text or "").strip():
                raise InputError(t.BAD_EMPTY)
            if len(part.text or "") > TEXT_LIMIT:
                raise InputError(t.bad_too_long(TEXT_LIMIT))
        else:
            if not part.file_id:
                raise InputError(t.BAD_NO_FILE)
            if len(part.text or "") > CAPTION_LIMIT:
                raise InputError(t.bad_too_long(CAPTION_LIMIT))
