"""Activity kind from what a roadmap row does, and whether the row goes into reservists' plans.

Both decisions are tables of rules (``KIND_RULES``, ``AUDIENCE_RULES``); each rule has its
Russian terms as a pattern and the reason it exists, and the reason of the rule that decided a
row is kept with the row (``KindReading.reason``, ``Audience.reason``). The vocabulary comes from
the real roadmaps in the project's seeds (Petrovsky district 2022, Kamyshin district 2022,
Khabarovsk region 2023) and the wordings departments use for the same things (ИОМ, КПК,
назначение из резерва). Matching works on lower-cased text with "ё" read as "е"; the Russian
words below are data, not prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.services.roadmap.model import ActivityKind

__all__ = [
    "AUDIENCE_RULES",
    "KIND_RULES",
    "PARTICIPATORY_KINDS",
    "Audience",
    "AudienceRule",
    "KindReading",
    "KindRule",
    "applies_to_reservists",
    "classify_kind",
    "decide_audience",
    "read_kind",
]

K = ActivityKind


@dataclass(frozen=True, slots=True)
class KindRule:
    """Terms that name what a row does (its action or its object) and the kind they give."""

    kind: ActivityKind
    pattern: re.Pattern[str]
    reason: str


@dataclass(frozen=True, slots=True)
class KindReading:
    """The kind of a row, the reason, and whether a rule on the title decided it."""

    kind: ActivityKind
    reason: str
    certain: bool


def _kind(kind: ActivityKind, pattern: str, reason: str) -> KindRule:
    return KindRule(kind, re.compile(pattern), reason)


# An individual plan as the object of a row: "индивидуальный план (подготовки)", "ИОМ",
# "индивидуальный образовательный маршрут", "индивидуальная программа развития".
_PLAN = (
    r"(?:иом\b|индивидуальн[а-я]*\s+(?:образовательн[а-я]*\s+маршрут"
    r"|(?:[а-я]+\s+)?(?:план|программ)))"
)
_DRAW_UP = r"(?:составлени|разработк|корректировк|оформлени|проектировани|построени|защит)"

# The action of a row is what stands before its ground: "Назначение … по результатам
# конкурса" is an appointment, "Помощь … по результатам мониторинга" is help, "Собеседование
# по итогам выполнения плана" an interview. Kind terms after these words are not read.
_GROUND_RE = re.compile(r"\s(?:по\s+результатам|по\s+итогам|с\s+учетом|на\s+основе)\s")

# Every rule is searched in the action part of the title; the term found first (leftmost)
# decides, so the head of the row ("Курсы … для победителей конкурса") wins over the words it
# mentions later. On a tie the earlier rule in the table wins.
KIND_RULES: tuple[KindRule, ...] = (
    _kind(
        K.OTHER,
        r"\bназначени[еяюи]\b(?!\s+(?:[а-я()]+\s+)?наставник)",
        "an appointment to a post (the department's decision), whatever it is based on",
    ),
    _kind(
        K.OTHER,
        (
            r"^(?:вовлечени|привлечени)[а-я]*\s+(?:[а-я-]+\s+){0,3}?(?:в|к)\s+"
            r"(?:[а-я-]+\s+){0,3}?(?:деятельност|задач|работ[аеуы]?\b|проект)"
        ),
        "involving people in work: the object is the work, not one event",
    ),
    _kind(
        K.OTHER,
        (
            r"(?:оказани[ея]|адресн)[а-я]*\s+(?:(?!консультатив)[а-я]+\s+)?помощ"
            r"|мотиваци|стимулировани|поощрени"
        ),
        "help or motivation, not a check or an event",
    ),
    _kind(
        K.SELF_GOVERNMENT_DAY,
        (
            r"\bд(?:ень|ня|ню|не|ни|ням|нях)\s+(?:школьного\s+)?самоуправлени"
            r"|один\s+день\s+из\s+жизни\s+руководител"
        ),
        "a self-government day («Один день из жизни руководителя»)",
    ),
    _kind(
        K.INTERNSHIP, r"стажиров(?:к|ок|очн)", "an internship (стажировка, стажировочная площадка)"
    ),
    _kind(K.DIAGNOSTICS, r"диагностик|тестировани", "diagnostics or testing"),
    _kind(K.INTERVIEW, r"собеседовани", "an interview"),
    _kind(
        K.PLANNING,
        rf"^{_PLAN}|{_DRAW_UP}[а-я]*\s+(?:[а-я]+\s+){{0,2}}?{_PLAN}",
        "drawing up an individual plan (индивидуальный план, ИОМ)",
    ),
    _kind(K.COMPETITION, r"конкурс", "a competition"),
    _kind(
        K.COURSES,
        (
            r"\bкпк\b|\bкурс|переподготовк|повышени[яею]\s+квалификаци"
            r"|курсов[а-я]*\s+подготовк"
        ),
        "courses (КПК, курсы повышения квалификации, переподготовка)",
    ),
    _kind(K.TRAINING, r"тренинг", "a training"),
    _kind(
        K.SEMINAR,
        r"семинар|вебинар|практикум|площадк|секци|школ[аыеу]\s+управленческого\s+мастерства",
        "a seminar, webinar, workshop or section",
    ),
    _kind(
        K.CONSULTATION,
        r"наставни|консультац|консультатив|менторств",
        "mentoring or consultations",
    ),
    _kind(
        K.MONITORING,
        (
            r"(?<!результатов )мониторинг|анализ[а-я]*\s+потребност"
            r"|оценк[а-я]*\s+(?:[а-я]+\s+)?эффективност"
        ),
        "monitoring, needs analysis or an effectiveness assessment",
    ),
)

# Kinds a reservist takes part in personally (used when a table has no sections).
PARTICIPATORY_KINDS: frozenset[ActivityKind] = frozenset(
    {
        K.DIAGNOSTICS,
        K.TRAINING,
        K.SEMINAR,
        K.COMPETITION,
        K.SELF_GOVERNMENT_DAY,
        K.INTERNSHIP,
        K.COURSES,
        K.CONSULTATION,
        K.INTERVIEW,
        K.PLANNING,
    }
)


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


def _action_part(text: str) -> str:
    """The text before its ground ("по результатам …"), or all of it when nothing is left."""
    match = _GROUND_RE.search(text)
    return text[: match.start()] if match and match.start() > 0 else text


def _first_rule(text: str) -> tuple[KindRule, str] | None:
    best: tuple[int, int, KindRule, str] | None = None
    for order, rule in enumerate(KIND_RULES):
        match = rule.pattern.search(text)
        if match and (best is None or (match.start(), order) < best[:2]):
            best = (match.start(), order, rule, match.group(0))
    return None if best is None else (best[2], best[3])


def read_kind(title: str, result: str = "") -> KindReading:
    """The kind of a row with its reason (see ``KIND_RULES``).

    The title's action part decides; only when it matches nothing is the result cell read
    (``certain`` False then, as for the ``other`` given when nothing matches).
    """
    for text, where in ((title, "title"), (result, "result")):
        found = _first_rule(_action_part(_normalise(text)))
        if found is not None:
            rule, term = found
            return KindReading(
                rule.kind, f"{rule.reason}: «{term}» in the {where}", where == "title"
            )
    return KindReading(K.OTHER, "no kind term in the title or the result", False)


def classify_kind(title: str, result: str = "") -> ActivityKind:
    """Return the kind of an activity from its wording (``read_kind`` without the reason)."""
    return read_kind(title, result).kind


@dataclass(frozen=True, slots=True)
class AudienceRule:
    """A wording that decides whether a row goes into reservists' plans.

    ``reserve_only`` rules (what a reservist does) apply only to rows about the reserve: under
    a section naming the reserve, with a title or result naming it, or in a table without
    sections. The department's own work (``for_reservists`` False) is recognised everywhere.
    ``unless`` cancels the rule when it matches the title too; ``kinds`` limits it to kinds.
    """

    for_reservists: bool
    pattern: re.Pattern[str] | None
    reason: str
    reserve_only: bool = False
    unless: re.Pattern[str] | None = None
    kinds: frozenset[ActivityKind] = frozenset()


@dataclass(frozen=True, slots=True)
class Audience:
    """Whether a row goes into plans, why, and whether a rule on its wording decided it."""

    for_reservists: bool
    reason: str
    certain: bool


def _rule(
    for_reservists: bool,
    pattern: str | None,
    reason: str,
    *,
    unless: str | None = None,
    kinds: frozenset[ActivityKind] = frozenset(),
) -> AudienceRule:
    return AudienceRule(
        for_reservists,
        re.compile(pattern) if pattern is not None else None,
        reason,
        reserve_only=for_reservists,
        unless=re.compile(unless) if unless is not None else None,
        kinds=kinds,
    )


_RESERVE = r"(?:резерв|кандидат|претендент|лиц,?\s+включенн)"

# First rule that matches the title wins; the order settles overlaps (monitoring the plans of
# reservists is monitoring, not carrying out a plan; a mentor assigned to
# newly appointed heads is not for the reserve; drawing up one's plan is not "разработка
# программы"; "Назначение наставника" is a mentor, not an appointment to a post).
AUDIENCE_RULES: tuple[AudienceRule, ...] = (
    _rule(
        False,
        None,
        "monitoring is the department's check, not a reservist's task",
        kinds=frozenset({K.MONITORING}),
    ),
    _rule(
        False,
        r"(?:для|от)\s+(?:[а-я-]+\s+){0,2}?(?:вновь\s+назначенн|управленческ[а-я]*\s+команд)",
        "for another audience (newly appointed heads, management teams), not the reserve",
        unless=_RESERVE,
    ),
    _rule(
        True,
        rf"^{_DRAW_UP}[а-я]*\s+(?:[а-я]+\s+){{0,2}}?{_PLAN}",
        "the reservist draws up their individual plan",
    ),
    _rule(
        True,
        rf"(?:выполнени|реализаци)[а-я]*\s+(?:[а-я]+\s+){{0,2}}?{_PLAN}",
        "the reservist carries out their individual plan",
    ),
    _rule(
        True,
        r"(?:подбор|закреплени|назначени)[а-я]*\s+(?:[а-я()]+\s+)?наставник",
        "the reservist gets a mentor",
    ),
    _rule(
        False,
        r"^(?:[а-я]+\s+){0,2}назначени[еяюи]\b",
        "appointing heads is the department's decision",
    ),
    _rule(
        False,
        (
            r"(?:конкурс[а-я]*|отбор[а-я]*)\s+(?:[а-я]+\s+){0,2}?(?:для|на)\s+"
            r"(?:включени|зачислени)|^(?:отбор|подбор)\s+кандидат|конкурсн[а-я]*\s+отбор"
        ),
        "selecting candidates into the reserve is the department's work",
    ),
    _rule(
        False,
        (
            r"^(?:формировани|обновлени|актуализаци|пополнени|утверждени|ведени|корректировк"
            r"|составлени)"
            r"[а-я]*\s+(?:[а-я,-]+\s+){0,3}?"
            r"(?:резерв|списк|состав|реестр|банк|баз[аыуе]|программ|систем|актив|перечн)"
        ),
        "the department forms or updates the reserve, its lists, programmes or systems",
    ),
    _rule(
        False,
        (
            r"^(?:организаци|создани|построени|реализаци|внедрени|развити)[а-я]*\s+"
            r"(?:[а-я-]+\s+)?(?:систем|механизм|модел|технологи)"
        ),
        "the department builds or runs a system",
    ),
    _rule(
        False,
        (
            r"^(?:разработк|подготовк|издани|принят)[а-я]*\s+(?:[а-я-]+\s+){0,2}?"
            r"(?:концепци|положени|порядк|программ|рекомендаци|приказ|распоряжени|критери"
            r"|методик|нормативн|регламент|справк|отчет|доклад|плана?\s+(?:работы|мероприяти))"
        ),
        "the department drafts documents",
    ),
    _rule(
        False,
        r"^(?:анализ|обобщени|подведени[ея]\s+итог|отчет)",
        "the department analyses or sums up",
    ),
    _rule(
        False,
        (
            r"^(?:включени|исключени|зачислени)[а-я]*\s+(?:[а-я]+\s+){0,3}?(?:в|из)\s+"
            r"(?:[а-я]+\s+){0,2}?(?:резерв|состав)"
        ),
        "including people in the reserve or excluding them is the department's decision",
    ),
    _rule(
        False,
        r"^(?:заседани|совещани)[а-я]*\s+(?:[а-я]+\s+){0,2}?(?:комисси|рабоч[а-я]*\s+групп|совет)",
        "a meeting of the department's commission or working group",
    ),
    _rule(
        False,
        (
            r"^(?:размещени|опубликовани|публикаци)[а-я]*\s+(?:[а-я]+\s+){0,2}?(?:информаци|сведени)"
            r"|^(?:сбор|прием)\s+(?:[а-я]+\s+){0,2}?(?:заявлени|заявок|документ)"
        ),
        "the department publishes information or collects applications",
    ),
    _rule(
        True,
        r"^(?:участи|прохождени|посещени|выступлени|самообразовани|стажировк)",
        "the reservist takes part, passes or attends",
    ),
    _rule(True, r"собеседовани", "the reservist is interviewed"),
    _rule(
        True,
        (
            r"(?:курс|семинар|вебинар|тренинг|стажиров|практикум|конкурс|диагностик"
            r"|тестировани|площадк|секци|школ|консультаци)[а-я-]*\s+(?:\S+\s+){0,6}?"
            rf"(?:для|с)\s+(?:[а-я,-]+\s+){{0,3}}?{_RESERVE}"
            rf"|обучени[а-я]*\s+(?:[а-я]+\s+)?{_RESERVE}"
        ),
        "an event held for the reserve: the reservist attends",
    ),
    _rule(
        True,
        r"^направлени[ея]\s+(?:[а-я]+\s+)?на\s+(?:курс|стажировк|обучени|переподготовк)",
        "the reservist is sent to courses or an internship",
    ),
    _rule(
        True,
        rf"^(?:вовлечени|привлечени)[а-я]*\s+(?:[а-я]+\s+){{0,2}}?(?:{_RESERVE}|резервист)",
        "the reservist is involved in the work",
    ),
)

_RESERVE_RE = re.compile(_RESERVE)


def decide_audience(title: str, section: str, kind: ActivityKind, result: str = "") -> Audience:
    """Decide whether a roadmap row goes into reservists' plans, and why.

    A row goes into plans when the reservist does it (takes part, passes, attends, draws up
    their plan, is interviewed); the department's work about the reserve (forming it,
    appointing, organising systems, monitoring, drafting documents) stays in the roadmap for
    officers. ``AUDIENCE_RULES`` are tried in order on the title; when none decides, a row
    about the reserve (``section`` or the title or ``result`` names the reserve, candidates or
    претенденты) goes into plans, and in a table without sections a row of a kind a reservist
    takes part in (``PARTICIPATORY_KINDS``) does; such decisions are not ``certain``.
    """
    wording = _normalise(title)
    by_section = bool(_RESERVE_RE.search(_normalise(section)))
    by_wording = bool(_RESERVE_RE.search(wording) or _RESERVE_RE.search(_normalise(result)))
    about_reserve = by_section or by_wording or not section.strip()
    for rule in AUDIENCE_RULES:
        if rule.reserve_only and not about_reserve:
            continue
        if rule.kinds and kind not in rule.kinds:
            continue
        if rule.pattern is not None and not rule.pattern.search(wording):
            continue
        if rule.unless is not None and rule.unless.search(wording):
            continue
        return Audience(rule.for_reservists, rule.reason, True)
    if by_section:
        return Audience(True, "under a section about the reserve", False)
    if by_wording:
        return Audience(True, "the wording names the reserve or candidates", False)
    if not section.strip() and kind in PARTICIPATORY_KINDS:
        return Audience(True, "a table without sections: a kind a reservist takes part in", False)
    return Audience(False, "neither the section nor the wording is about the reserve", True)


def applies_to_reservists(title: str, section: str, kind: ActivityKind, result: str = "") -> bool:
    """Whether a roadmap row goes into reservists' plans (``decide_audience`` without reason)."""
    return decide_audience(title, section, kind, result).for_reservists
