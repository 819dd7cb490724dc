"""Errors the domain services raise. ``InputError.message`` is the Russian text for the user.

In the bot a handler lets them escape: the update's transaction is rolled back and the error
router (handlers/errors.py) answers them — «Кнопка устарела» for :class:`NotFoundError`, the
message of an :class:`InputError`, the refusal for :class:`AccessDeniedError`."""

from __future__ import annotations


class InputError(ValueError):
    """The user's input is not acceptable; ``message`` says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(LookupError):
    """The object does not exist or does not belong to the caller (forged or stale button)."""


class AccessDeniedError(PermissionError):
    """The caller's role does not allow the action."""
