"""Method handlers for the bot itself: ``getMe``, ``logOut``/``close``, the command menus
(``setMyCommands``, ``getMyCommands``, ``deleteMyCommands``), descriptions and names by
language, and the chat menu button.
"""

from __future__ import annotations

import re

from bot.sandbox.emulator.answers import _bad
from bot.sandbox.emulator.model import JSONDict, ServerEvent
from bot.sandbox.emulator.params import Handler, _Request, _scope_key
from bot.sandbox.emulator.state import _ServerState


class _ProfileMethods(_ServerState):
    """The bot's own settings."""

    async def _true(self, req: _Request) -> bool:
        return True

    async def _get_me(self, req: _Request) -> JSONDict:
        return {
            **req.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _set_my_commands(self, req: _Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(req)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        self._emit_commands(req)
        return True

    async def _get_my_commands(self, req: _Request) -> list[JSONDict]:
        return [dict(c) for c in self._commands.get(self._commands_key(req), [])]

    async def _delete_my_commands(self, req: _Request) -> bool:
        self._commands.pop(self._commands_key(req), None)
        self._emit_commands(req)
        return True

    def _emit_commands(self, req: _Request) -> None:
        scope = req.params.get("scope")
        language = str(req.params.get("language_code") or "")
        chat_id = scope.get("chat_id") if isinstance(scope, dict) else None
        self._emit(
            ServerEvent(
                "commands",
                chat_id if isinstance(chat_id, int) else None,
                payload={
                    "scope": scope if isinstance(scope, dict) else None,
                    "language_code": language,
                },
            )
        )

    def _commands_key(self, req: _Request) -> tuple[str, str]:
        scope = req.params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        language = req.params.get("language_code") or ""
        return _scope_key(scope), str(language)

    def _set_text_setting(self, store: dict[str, str], key: str) -> Handler:
        async def set_setting(req: _Request) -> bool:
            value = req.params.get(key) or ""
            language = str(req.params.get("language_code") or "")
            if value:
                store[language] = str(value)
            else:
                store.pop(language, None)
            return True

        return set_setting

    def _get_text_setting(self, store: dict[str, str], key: str) -> Handler:
        async def get_setting(req: _Request) -> JSONDict:
            language = str(req.params.get("language_code") or "")
            return {key: store.get(language, store.get("", ""))}

        return get_setting

    async def _set_chat_menu_button(self, req: _Request) -> bool:
        chat_id = req.params.get("chat_id")
        if chat_id is not None:
            self._known_chat(chat_id)
        button = req.params.get("menu_button")
        self.menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
        return True

    async def _get_chat_menu_button(self, req: _Request) -> JSONDict:
        chat_id = req.params.get("chat_id")
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "default"}))
