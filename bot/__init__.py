"""The reserve bot. Importing the package first defers aiogram's model builds to their first
use (:mod:`bot.lazy_types`): about 3 s off the start and 100 MiB off a process's memory."""

from bot.lazy_types import defer_aiogram_model_builds

defer_aiogram_model_builds()
