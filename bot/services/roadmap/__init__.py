"""Roadmap importer: a department's roadmap (дорожная карта) -> activities.

Pure Python (no bot, no database). Reads text converted from Word (tab-separated tables) and
.docx files; see ``parser`` for the table rules, ``schedule`` for schedules and their date phrases,
``kinds`` for activity kinds and who an activity applies to, ``model`` for the activities read.
"""

from bot.services.roadmap.kinds import applies_to_reservists, classify_kind
from bot.services.roadmap.model import (
    ActivityKind,
    ParsedActivity,
    ParseResult,
    ParseWarning,
    RoadmapFormatError,
)
from bot.services.roadmap.parser import (
    DEFAULT_ROADMAP_PATH,
    activity_key,
    parse_roadmap_docx,
    parse_roadmap_file,
    parse_roadmap_text,
)
from bot.services.roadmap.schedule import Recurrence, Schedule, parse_schedule

__all__ = [
    "DEFAULT_ROADMAP_PATH",
    "ActivityKind",
    "ParseResult",
    "ParseWarning",
    "ParsedActivity",
    "Recurrence",
    "RoadmapFormatError",
    "Schedule",
    "activity_key",
    "applies_to_reservists",
    "classify_kind",
    "parse_roadmap_docx",
    "parse_roadmap_file",
    "parse_roadmap_text",
    "parse_schedule",
]
