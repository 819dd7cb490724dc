"""aiogram's models built on first use (:mod:`bot.lazy_types`): every type and method still
builds, and what they validate and send is what aiogram's own eager build gives.

Each check runs in a fresh interpreter: whether the builds are deferred is decided by what a
process imports first.
"""

from __future__ import annotations

import json

from tests.fresh_python import fresh_pythons

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


#: The deferred build: the bot imported first, then :data:`SAMPLE` (validated and dumped on
#: the models' first use), then every other type and method built (a JSON line each).
DEFERRED = (
    """
import bot  # defers the builds
from aiogram import Bot, Dispatcher
import aiogram.methods as methods
import aiogram.types as types
from pydantic import BaseModel
from pydantic_core import SchemaSerializer, SchemaValidator

assert not types.Update.__pydantic_complete__, "aiogram built its types at import"
"""
    + SAMPLE
    + """
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

#: aiogram imported before the bot: its own eager build, kept (a JSON line: whether the bot
#: deferred anything, whether Update was built), then :data:`SAMPLE` on the eager models.
EAGER = (
    """
import json
import aiogram.types
from bot.lazy_types import defer_aiogram_model_builds
print(json.dumps([defer_aiogram_model_builds(), aiogram.types.Update.__pydantic_complete__]))
"""
    + SAMPLE
)


def test_deferred_models_build_on_first_use_and_match_aiograms_eager_build() -> None:
    """Two interpreters, started at once (each costs seconds of CPU; one for each order of
    imports): every deferred type and method builds, what they validate and send equals the
    eager build's, and an aiogram imported before the bot keeps its eager build."""
    deferred, eager = fresh_pythons(DEFERRED, EAGER)
    deferred_sample, built = deferred.splitlines()
    eager_kept, eager_sample = eager.splitlines()
    assert int(built) > 400  # aiogram 3.31: ~330 types and ~170 methods
    assert json.loads(eager_kept) == [False, True]
    assert json.loads(deferred_sample) == json.loads(eager_sample)
    sample = json.loads(deferred_sample)
    assert sample["update"]["callback_query"]["message"]["reply_to_message"]["text"] == "/plan"
    assert sample["method"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        "item:1:done"
    )
