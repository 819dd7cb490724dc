"""Telegram's text formatting: the "HTML", "MarkdownV2" and legacy "Markdown" parsers.

Telegram parses them server-side and answers 400 "Bad Request: can't parse entities: ..." on
malformed input. The parsers below follow the behaviour of Telegram's own parser (tdlib's
MessageEntity.cpp) closely enough to reject what Telegram rejects, with the same messages and
byte offsets (:class:`_EntityError`), and return the visible text (:func:`_render_markup`).
They do not build the entity list.
"""

from __future__ import annotations


class _EntityError(Exception):
    pass


_SPACES = " \t\r\n\v\f"
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _render_markup(text: str, parse_mode: str | None) -> str:
    if parse_mode == "HTML":
        return _parse_html(text)
    if parse_mode == "MarkdownV2":
        return _parse_markdown_v2(text)
    if parse_mode == "Markdown":
        return _parse_markdown(text)
    return text


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, start: int) -> tuple[str, int] | None:
    """Decode ``&...`` at ``start`` the way Telegram does; ``None`` means a literal "&"."""
    n = len(text)
    i = start + 1
    if i < n and text[i] == "#":
        i += 1
        digits = "0123456789"
        base = 10
        if i < n and text[i] in "xX":
            i += 1
            digits, base = "0123456789abcdefABCDEF", 16
        begin = i
        while i < n and text[i] in digits:
            i += 1
        if i == begin:
            return None
        code = int(text[begin:i], base)
        if code == 0 or code > 0x10FFFF:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise _EntityError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        begin = i
        while i < n and text[i].isascii() and text[i].isalpha():
            i += 1
        char_or_none = _HTML_NAMED.get(text[begin:i])
        if char_or_none is None:
            return None
        char = char_or_none
    if i < n and text[i] == ";":
        i += 1
    return char, i


def _unescape_html(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            decoded = _decode_html_entity(value, i)
            if decoded is not None:
                out.append(decoded[0])
                i = decoded[1]
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


def _parse_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i += 1
            if not stack:
                raise _EntityError(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            j = i
            while j < n and text[j] not in _SPACES and text[j] != ">":
                j += 1
            name = text[i:j].lower()
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n or text[j] != ">":
                raise _EntityError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            expected = stack[-1]
            if name and name != expected:
                raise _EntityError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{expected}>", found "</{name}>"'
                )
            stack.pop()
            i = j + 1
            continue
        j = i
        while j < n and text[j] not in _SPACES and text[j] != ">":
            j += 1
        if j >= n:
            raise _EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        name = text[i:j].lower()
        if name not in _HTML_TAGS:
            raise _EntityError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
            )
        attributes, i = _parse_html_attributes(text, j, name, begin)
        if name == "span" and not attributes.get("class", "").startswith("tg-spoiler"):
            offset = _byte_offset(text, begin)
            raise _EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        stack.append(name)
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _parse_html_attributes(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes from ``i`` up to and including ">"; return them and the next index."""
    n = len(text)
    attributes: dict[str, str] = {}
    while True:
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise _EntityError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        if text[i] == ">":
            return attributes, i + 1
        start = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        name = text[start:i].lower()
        if not name:
            offset = _byte_offset(text, begin)
            raise _EntityError(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != "=":
            attributes[name] = ""
            continue
        i += 1
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise _EntityError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        if text[i] in "\"'":
            end = text.find(text[i], i + 1)
            if end < 0:
                raise _EntityError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            attributes[name] = _unescape_html(text[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
            i += 1
        if i >= n or (text[i] not in _SPACES and text[i] != ">"):
            raise _EntityError(
                f"Unexpected end of name token at byte offset {_byte_offset(text, start)}"
            )
        attributes[name] = text[start:i]


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_CODE = frozenset({"Code", "Pre", "PreCode"})


def _mdv2_escapes(text: str, i: int) -> bool:
    return text[i] == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126


def _parse_markdown_v2(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []  # (entity type, byte offset of its start)
    n = len(text)
    i = 0
    line_quoted = False
    quote_base = 0  # entities opened inside a block quote must close before it ends
    marker_at = -1  # len(out) when the last quote marker was consumed
    while i < n:
        c = text[i]
        top = stack[-1][0] if stack else None
        in_code = top in _MDV2_CODE
        at_line_start = (not out or out[-1] in "\r\n") and marker_at != len(out)
        if not in_code and at_line_start:
            marker = 3 if text.startswith("**>", i) else 1 if c == ">" else 0
            if line_quoted and not marker and len(stack) > quote_base:
                kind, offset = stack[-1]
                raise _EntityError(f"Can't find end of {kind} entity at byte offset {offset}")
            if marker and not line_quoted:
                quote_base = len(stack)
            line_quoted = bool(marker)
            if marker:
                marker_at = len(out)
                i += marker
                continue
        if _mdv2_escapes(text, i):
            out.append(text[i + 1])
            i += 2
            continue
        if c not in ("`" if in_code else _MDV2_RESERVED):
            out.append(c)
            i += 1
            continue
        closes = {
            "Bold": c == "*",
            "Italic": c == "_" and not text.startswith("__", i),
            "Code": c == "`",
            "Pre": text.startswith("```", i),
            "PreCode": text.startswith("```", i),
            "TextUrl": c == "]",
            "CustomEmoji": c == "]",
            "Underline": text.startswith("__", i),
            "Strikethrough": c == "~",
            "Spoiler": text.startswith("||", i),
        }.get(top or "", False)
        if closes:
            kind = stack.pop()[0]
            i = _mdv2_close(text, i, kind)
            continue
        begin = i
        if c == "_":
            kind = "Underline" if text.startswith("__", i) else "Italic"
            i += 2 if kind == "Underline" else 1
        elif c == "*":
            kind, i = "Bold", i + 1
        elif c == "~":
            kind, i = "Strikethrough", i + 1
        elif c == "|" and text.startswith("||", i):
            if line_quoted and text[i + 2 : i + 3] in {"", "\n", "\r"}:
                i += 2  # "||" at the end of a quoted line: expandable block quote
                continue
            kind, i = "Spoiler", i + 2
        elif c == "[":
            kind, i = "TextUrl", i + 1
        elif c == "!" and text.startswith("![", i):
            kind, i = "CustomEmoji", i + 2
        elif c == "`" and text.startswith("```", i):
            kind, i = _mdv2_open_pre(text, i + 3)
        elif c == "`":
            kind, i = "Code", i + 1
        else:
            raise _EntityError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        stack.append((kind, _byte_offset(text, begin)))
    if stack:
        kind, offset = stack[-1]
        raise _EntityError(f"Can't find end of {kind} entity at byte offset {offset}")
    return "".join(out)


def _mdv2_open_pre(text: str, i: int) -> tuple[str, int]:
    n = len(text)
    kind = "Pre"
    end = i
    while end < n and text[end] not in _SPACES and text[end] != "`":
        end += 1
    if end != i and end < n and text[end] != "`":
        kind, i = "PreCode", end
    if i < n and text[i] in "\r\n":
        two = i + 1 < n and text[i + 1] in "\r\n" and text[i] != text[i + 1]
        i += 2 if two else 1
    return kind, i


def _mdv2_close(text: str, i: int, kind: str) -> int:
    """Consume the closing marker of ``kind`` at ``i`` (and a link URL); return next index."""
    n = len(text)
    if kind in {"Underline", "Spoiler"}:
        return i + 2
    if kind in {"Pre", "PreCode"}:
        return i + 3
    i += 1
    if kind == "TextUrl":
        if text[i : i + 1] != "(":
            return i
        i += 1
        url_begin = i
        while i < n and text[i] != ")":
            i += 2 if _mdv2_escapes(text, i) else 1
        if i >= n:
            raise _EntityError(
                f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
            )
        return i + 1
    if kind == "CustomEmoji":
        if text[i : i + 1] != "(":
            raise _EntityError("Custom emoji entity must contain a tg://emoji URL")
        url_begin = i + 1
        end = text.find(")", url_begin)
        if end < 0:
            offset = _byte_offset(text, url_begin)
            raise _EntityError(f"Can't find end of a custom emoji URL at byte offset {offset}")
        return end + 1
    return i


def _parse_markdown(text: str) -> str:
    """Legacy "Markdown": *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = text.startswith("```", i)
        i += 3 if is_pre else 1
        end = text.find("```", i) if is_pre else text.find(end_char, i)
        if end < 0:
            raise _EntityError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        content = text[i:end]
        if is_pre:
            first_line, newline, rest = content.partition("\n")
            if newline and first_line and " " not in first_line:
                content = rest  # ```language\n...```
        out.append(content)
        i = end + (3 if is_pre else 1)
        if c == "[" and text[i : i + 1] == "(":
            close = text.find(")", i)
            if close < 0:
                offset = _byte_offset(text, begin)
                raise _EntityError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            i = close + 1
    return "".join(out)
