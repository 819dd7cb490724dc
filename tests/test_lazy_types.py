"""aiogram's models built on first use (:mod:`bot.lazy_types`): every type and method still
builds, and what they validate and send is what aiogram's own eager build gives.

Each check runs in a fresh interpreter: whether the builds are deferred is decided by what a
process imports first.
"""

from __future__ import annotations

import json

from tests.fresh_python import fresh_python

#: An update touching much of the type tree (a reply with entities and a keyboard, in a
#: callback query), a method with a keyboard, and the answer envelope of sendMessage.
SAMPLE = r"""
import json
from aiogram.methods import SendMessage
from aiogram.methods.base import Response
from aiogram.types import Message, Update

user = {"id": 7, "is_bot": False, "first_name": "Анна", "language_code": "ru"}
chat = {"id": 7, "type": "private", "first_name": "Анна"}
message = {
    "message_id": 5, "date": 1767225600, "chat": chat, "from": user,
    "text": "План на 2027 год", "entities": [{"type": "bold", "offset": 0, "length": 4}],
    "reply_to_message": {"message_id": 4, "date": 1767225500, "chat": chat, "text": "/plan"},
    "reply_markup": {"inline_keyboard": [[{"text": "✅", "callback_data": "item:1:done"}]]},
}
update = Update.model_validate(
    {"update_id": 9, "callback_query": {"id": "1", "from": user, "chat_instance": "c",
                                        "data": "item:1:done", "message": message}}
)
keyboard = update.callback_query.message.reply_markup
method = SendMessage(chat_id=7, text="Готово", reply_markup=keyboard)
answer = Response[Message].model_validate({"ok": True, "result": message})
print(json.dumps({
    "update": update.model_dump(mode="json", exclude_unset=True),
    "method": method.model_dump(mode="json", exclude_unset=True),
    "answer": answer.model_dump(mode="json", exclude_unset=True),
}, sort_keys=True, ensure_ascii=False))
"""


def test_every_aiogram_type_and_method_builds_on_first_use() -> None:
    out = fresh_python(
        """
import bot  # defers the builds
from aiogram import Bot, Dispatcher
import aiogram.methods as methods
import aiogram.types as types
from pydantic import BaseModel
from pydantic_core import SchemaSerializer, SchemaValidator

assert not types.Update.__pydantic_complete__, "aiogram built its types at import"
bases = {"TelegramObject", "MutableTelegramObject", "TelegramMethod"}
built = 0
for module in (types, methods):
    for name in module.__all__:
        model = getattr(module, name)
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or name in bases:
            continue
        # first use: the deferred model's placeholder builds it on attribute access
        model.__pydantic_validator__.validate_python
        model.__pydantic_serializer__.to_python
        assert isinstance(model.__pydantic_validator__, SchemaValidator), name
        assert isinstance(model.__pydantic_serializer__, SchemaSerializer), name
        built += 1
print(built)
"""
    )
    assert int(out) > 400  # aiogram 3.31: ~330 types and ~170 methods


def test_deferred_models_validate_and_send_what_the_eager_ones_do() -> None:
    deferred = json.loads(fresh_python("import bot\n" + SAMPLE))
    eager = json.loads(fresh_python(SAMPLE))  # aiogram alone, built at import
    assert deferred == eager
    assert deferred["update"]["callback_query"]["message"]["reply_to_message"]["text"] == "/plan"
    assert deferred["method"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        "item:1:done"
    )


def test_an_aiogram_imported_before_the_bot_keeps_its_eager_build() -> None:
    out = fresh_python(
        """
import aiogram.types
from bot.lazy_types import defer_aiogram_model_builds
print(defer_aiogram_model_builds(), aiogram.types.Update.__pydantic_complete__)
"""
    )
    assert out.split() == ["False", "True"]
