"""The sandbox: the whole bot without Telegram (``python -m bot sandbox``).

:mod:`bot.sandbox.emulator` is a local Telegram Bot API server that speaks the real HTTP
Bot API; the end-to-end tests and the benchmarks run the bot process against it, and the
sandbox puts a chat page in front of it.
"""
