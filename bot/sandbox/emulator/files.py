"""Files of the simulated world: made up for a test's push, uploaded by the bot or named by
file_id or URL in a send, and ``getFile`` (the download itself is served by the server's HTTP
layer from the same store).
"""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import PurePosixPath
from typing import Any

from bot.sandbox.emulator.answers import _bad
from bot.sandbox.emulator.model import FakeFile, JSONDict, UploadedFile
from bot.sandbox.emulator.params import _Request
from bot.sandbox.emulator.state import _ServerState


class _FileStore(_ServerState):
    """The file store: new files, a message's file, a send's file, ``getFile``."""

    def _new_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> FakeFile:
        file = self._make_file(kind, data, file_name=file_name, mime_type=mime_type)
        if kind == "photo":
            file.thumbnail = self._make_file("photo", data, mime_type=mime_type)
        return file

    def _make_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> FakeFile:
        seq = next(self._file_seq)
        prefix = {"photo": "AgACAgIAAxk", "document": "BQACAgIAAxk"}.get(kind, "BAACAgIAAxk")
        suffix = PurePosixPath(file_name).suffix if file_name else ""
        if not suffix:
            suffix = mimetypes.guess_extension(mime_type or "") or (
                ".jpg" if kind == "photo" else ""
            )
        folder = {"photo": "photos", "document": "documents"}.get(kind, kind + "s")
        file = FakeFile(
            file_id=f"{prefix}{seq:06d}{uuid.uuid4().hex}",
            file_unique_id=f"AgAD{seq:06d}{uuid.uuid4().hex[:8]}",
            file_path=f"{folder}/file_{seq}{suffix}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[file.file_id] = file
        self._files_by_path[file.file_path] = file
        return file

    def _file_of(self, message: JSONDict) -> FakeFile | None:
        for kind in ("document", "video", "audio", "voice", "animation"):
            if kind in message:
                return self._files.get(message[kind]["file_id"])
        if "photo" in message:
            return self._files.get(message["photo"][-1]["file_id"])
        return None

    def _resolve_file(self, value: Any, kind: str) -> FakeFile:
        if value is None or value == "":
            raise _bad(f"there is no {kind} in the request")
        if isinstance(value, UploadedFile):
            mime = value.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename)[0] or mime
            if kind == "photo":
                return self._new_file("photo", value.data, mime_type=mime or "image/jpeg")
            return self._new_file(
                kind, value.data, file_name=value.filename, mime_type=mime or None
            )
        if isinstance(value, str):
            if value in self._files:
                return self._files[value]
            if value.startswith(("http://", "https://")):
                name = PurePosixPath(value.split("?", 1)[0]).name or kind
                mime = mimetypes.guess_type(name)[0]
                return self._new_file(kind, b"", file_name=name, mime_type=mime)
        raise _bad("wrong file identifier/HTTP URL specified")

    async def _get_file(self, req: _Request) -> JSONDict:
        file_id = req.params.get("file_id")
        file = self._files.get(file_id) if isinstance(file_id, str) else None
        if file is None:
            raise _bad("invalid file_id")
        return file.file_dict()


def _fake_content(file_name: str, mime_type: str) -> bytes:
    if mime_type == "application/pdf" or file_name.lower().endswith(".pdf"):
        return b"%PDF-1.4\n% fake document " + file_name.encode() + b"\n%%EOF\n"
    return b"fake file " + file_name.encode()
