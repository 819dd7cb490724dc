"""The command menu (setMyCommands). Telegram shows a chat-scoped list over the default one
(Bot API, "Determining list of commands"), so each registered user gets their role's list."""

from __future__ import annotations

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot import texts
from storage.models import Role

log = structlog.get_logger(__name__)


def _commands(spec: dict[str, str]) -> list[BotCommand]:
    return [BotCommand(command=c, description=d) for c, d in spec.items()]


async def set_default_commands(bot: Bot) -> None:
    """The menu of everyone not registered: /start, /help.

    A failure is logged, not raised (as :func:`set_user_commands`): a bot whose start-up call
    Telegram refuses, or fails past the retry policy's budget, still polls and answers.
    """
    try:
        await bot.set_my_commands(_commands(texts.COMMANDS_GUEST), scope=BotCommandScopeDefault())
    except TelegramAPIError as exc:
        log.warning("set commands failed", scope="default", error=str(exc))


async def set_user_commands(bot: Bot, chat_id: int, role: Role) -> None:
    """The menu of one registered user (a private chat's id is the user's id).

    A failure is logged, not raised: the menu is a convenience, the commands work without it.
    """
    try:
        await bot.set_my_commands(
            _commands(texts.COMMANDS_BY_ROLE[role]), scope=BotCommandScopeChat(chat_id=chat_id)
        )
    except TelegramAPIError as exc:
        log.warning("set commands failed", chat_id=chat_id, error=str(exc))


async def clear_user_commands(bot: Bot, chat_id: int) -> None:
    """Drop a user's own menu (after /delete_me); failures are logged."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError as exc:
        log.warning("delete commands failed", chat_id=chat_id, error=str(exc))
