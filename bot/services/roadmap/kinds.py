"""Activity kind from a roadmap row's wording, and whether the row applies to reservists.

The vocabulary is taken from the real roadmaps in the project's seeds (Petrovsky district 2022,
Kamyshin district 2022, Khabarovsk region 2023). Matching works on lower-cased text with "ё"
read as "е"; the Russian words below are data, not prose.
"""

from __future__ import annotations

import re

from bot.services.roadmap.model import ActivityKind

__all__ = ["PARTICIPATORY_KINDS", "applies_to_reservists", "classify_kind"]

# First match wins. The order settles the mixed wordings found in real roadmaps:
# - "Участие в Дне самоуправления … «Один день из жизни руководителя»" is a self-government
#   day, not a seminar;
# - "стажировочных площадок" is an internship, not a seminar ("площадк");
# - "экспресс-диагностики", "конкурсов", "курсов" come before the broad seminar vocabulary;
# - "конкурс" is checked before "курс", and "курс" is only matched as a word start, so
#   "конкурс" never reads as courses;
# - planning needs a drawing-up verb: "Сопровождение выполнения индивидуальных планов" is other;
# - monitoring is last: "Семинар «… анализа результатов мониторинга …»" is a seminar.
_KIND_PATTERNS: tuple[tuple[ActivityKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            ActivityKind.SELF_GOVERNMENT_DAY,
            (
                r"\bд(?:ень|ня|ню|не|ни|ням|нях)\s+(?:школьного\s+)?самоуправлени"
                r"|один\s+день\s+из\s+жизни\s+руководител"
            ),
        ),
        (ActivityKind.INTERNSHIP, r"стажиров(?:к|ок|очн)"),
        (ActivityKind.DIAGNOSTICS, r"диагностик"),
        (ActivityKind.INTERVIEW, r"собеседовани"),
        (ActivityKind.COMPETITION, r"конкурс"),
        (ActivityKind.COURSES, r"\bкурс|переподготовк|повышени[яею]\s+квалификаци"),
        (ActivityKind.TRAINING, r"тренинг"),
        (
            ActivityKind.SEMINAR,
            r"семинар|вебинар|практикум|площадк|секци|школ[аыеу]\s+управленческого\s+мастерства",
        ),
        (ActivityKind.CONSULTATION, r"наставни|консультац|консультатив|менторств"),
        (
            ActivityKind.PLANNING,
            (
                r"(?:составлени|разработк)[а-я]*\s+(?:[а-я]+\s+){0,2}?индивидуальн[а-я]*\s+"
                r"(?:[а-я]+\s+)?план"
            ),
        ),
        (
            ActivityKind.MONITORING,
            (
                r"(?<!результатов )мониторинг|анализ[а-я]*\s+потребност"
                r"|оценк[а-я]*\s+(?:[а-я]+\s+)?эффективност"
            ),
        ),
    )
)

# Kinds a reservist takes part in personally (used when a table has no sections).
PARTICIPATORY_KINDS: frozenset[ActivityKind] = frozenset(
    {
        ActivityKind.DIAGNOSTICS,
        ActivityKind.TRAINING,
        ActivityKind.SEMINAR,
        ActivityKind.COMPETITION,
        ActivityKind.SELF_GOVERNMENT_DAY,
        ActivityKind.INTERNSHIP,
        ActivityKind.COURSES,
        ActivityKind.CONSULTATION,
        ActivityKind.INTERVIEW,
        ActivityKind.PLANNING,
    }
)

# The reserve, its members and candidates for it.
_RESERVE_RE = re.compile(r"резерв|кандидат|претендент")

# Rows that are the education department's own work, not something a reservist does.
_INTERNAL_TASK_RE = re.compile(
    r"анализ[а-я]*\s+потребност"
    r"|^(?:формирование|организация|создание|построение)\s+(?:[а-я]+\s+)?систем"
    r"|^разработка\s+(?:[а-я]+\s+)?(?:концепци|положени|порядк|программ[ыа]?\s+подготовки)"
    r"|^обобщени"
    r"|для\s+вновь\s+назначенных\s+руководител"
)


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


def _match_kind(text: str) -> ActivityKind | None:
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return None


def classify_kind(title: str, result: str = "") -> ActivityKind:
    """Return the kind of an activity from its wording.

    Looks at ``title`` first and, only when the title matches nothing, at ``result`` (the
    "Результаты" cell). Vocabulary and priority (first match wins): self-government day
    ("День самоуправления", «Один день из жизни руководителя»), internship (стажировк…),
    diagnostics, interview (собеседовани…), competition (конкурс), courses (курс…,
    переподготовк…, повышения квалификации), training (тренинг), seminar (семинар, вебинар,
    практикум, площадк…, секци…, «Школа управленческого мастерства»), consultation (наставни…,
    консультац…, менторств…), planning (составление / разработка … индивидуального плана),
    monitoring (мониторинг, анализ потребностей, оценка … эффективности), else other.
    """
    for text in (title, result):
        kind = _match_kind(_normalise(text))
        if kind is not None:
            return kind
    return ActivityKind.OTHER


def applies_to_reservists(title: str, section: str, kind: ActivityKind, result: str = "") -> bool:
    """Decide whether a roadmap row is something a reservist takes part in.

    The department decides in its own roadmap, so the roadmap's structure is used:

    - never for monitoring rows, nor for the department's internal tasks: "Анализ потребностей",
      "Формирование системы …", "Организация системы …", "Разработка концепции …",
      "Обобщение …", rows for newly appointed heads ("… для вновь назначенных руководителей");
    - when ``section`` (heading row or "Направление работы") names the reserve or candidates
      (резерв, кандидат, претендент), every other row of it applies;
    - otherwise the row applies when its ``title`` or ``result`` names the reserve, reservists
      or candidates, or, in a table without sections (``section == ""``), when ``kind`` is one
      a reservist takes part in (``PARTICIPATORY_KINDS``).

    "Сопровождение …" rows (accompanying candidates while they carry out their individual plan)
    apply: the reservist carries out the plan all year, and both the Petrovsky and the Kamyshin
    roadmaps list it in their reserve sections. ``result`` is an optional extension of the
    (title, section, kind) signature.
    """
    wording = _normalise(title)
    if kind is ActivityKind.MONITORING or _INTERNAL_TASK_RE.search(wording):
        return False
    if _RESERVE_RE.search(_normalise(section)):
        return True
    if _RESERVE_RE.search(wording) or _RESERVE_RE.search(_normalise(result)):
        return True
    return not section.strip() and kind in PARTICIPATORY_KINDS
