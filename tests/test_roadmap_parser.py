"""Roadmap tables -> activities, on the three real roadmaps of the seeds, text and .docx."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest

from bot.services.roadmap import (
    DEFAULT_ROADMAP_PATH,
    ActivityKind,
    ParsedActivity,
    ParseResult,
    Recurrence,
    RoadmapFormatError,
    parse_roadmap_docx,
    parse_roadmap_file,
    parse_roadmap_text,
)

K = ActivityKind
SEEDS = Path(__file__).resolve().parent / "data"  # copies of the real roadmaps (see its README)
PETROVSKY = SEEDS / "petrovsky-roadmap-2022.txt"
KAMYSHIN = SEEDS / "kamyshin-program-2022.txt"
KHABAROVSK = SEEDS / "khabarovsk-project-2023.txt"

# The seeds are the domain's source and live in the repository: a missing seed is a failure
# (FileNotFoundError), never a silent skip.


def by_line(result: ParseResult) -> dict[int, ParsedActivity]:
    return {activity.source_line: activity for activity in result.activities}


def first_words(result: ParseResult) -> list[str]:
    return [activity.title.split()[0] for activity in result.activities]


def assert_every_row_accounted_for(result: ParseResult) -> None:
    skipped = [w for w in result.warnings if "no activity title" in w.message]
    assert result.rows == len(result.activities) + len(skipped)
    keys = [activity.key for activity in result.activities]
    assert len(set(keys)) == len(keys)


# --- Petrovsky district 2022 -------------------------------------------------------------


@pytest.fixture(scope="module")
def petrovsky() -> ParseResult:
    return parse_roadmap_file(PETROVSKY)


def test_petrovsky_counts(petrovsky: ParseResult) -> None:
    assert (petrovsky.tables, petrovsky.rows, len(petrovsky.activities)) == (1, 11, 11)
    assert petrovsky.warnings == ()
    assert_every_row_accounted_for(petrovsky)
    assert [a.source_line for a in petrovsky.activities] == [
        46,
        47,
        48,
        49,
        52,
        53,
        54,
        55,
        56,
        59,
        60,
    ]
    assert first_words(petrovsky) == [
        "Составление",
        "Сопровождение",
        "Собеседование",
        "Психолого-педагогическая",
        "Психологические",
        "Муниципальные",
        "Работа",
        "Участие",
        "Участие",
        "Подбор",
        "Направление",
    ]


def test_petrovsky_fields(petrovsky: ParseResult) -> None:
    rows = by_line(petrovsky)
    trainings = rows[52]
    assert trainings.title == (
        "Психологические тренинги для педагогов, планирующих вертикальный карьерный рост"
    )
    assert trainings.kind is K.TRAINING
    assert trainings.schedule.months == (3, 6, 10)
    assert trainings.schedule.recurrence is Recurrence.YEARLY
    assert trainings.responsible == "МКУ «РЦОСОК»"
    assert trainings.result == "Программа тренингов"
    assert trainings.section.startswith("Методическое сопровождение резерва")

    # row 2 is broken by a page break and its continuation lost the "№" column
    diagnostics = rows[49]
    assert diagnostics.title == (
        "Психолого-педагогическая диагностика лидерских качеств и управленческого потенциала"
    )
    assert diagnostics.result == (
        "Рекомендации по развитию лидерских качеств и управленческого потенциала"
    )
    assert diagnostics.section == (
        "Методическое сопровождение резерва управленческих кадров и педагогических работников, "
        "планирующих вертикальный карьерный рост."
    )
    assert diagnostics.kind is K.DIAGNOSTICS
    assert diagnostics.schedule.months == (1,)

    day = rows[56]
    assert day.title == (
        "Участие в Дне самоуправления в образовательных учреждениях «Один день из жизни "
        "руководителя образовательного учреждения»"
    )
    assert day.title.endswith("образовательного учреждения»")
    assert day.kind is K.SELF_GOVERNMENT_DAY
    assert day.schedule.months == (10,)
    assert day.responsible == "Отдел образования, ОУ района"

    plan = rows[46]
    assert plan.kind is K.PLANNING
    assert plan.schedule.windows == ((12, 1),)
    assert plan.section.startswith("Сопровождение кандидатов, включённых в резерв")
    # rows under the merged "Направление работы" cell keep its section
    assert rows[48].section == plan.section
    assert rows[48].kind is K.INTERVIEW

    assert rows[53].schedule.recurrence is Recurrence.ON_DEMAND  # "По плану отдела образования"
    assert rows[53].schedule.text == "По плану отдела образования"
    assert rows[60].kind is K.COURSES
    assert rows[60].schedule.text == "По запросу"


def test_petrovsky_audience(petrovsky: ParseResult) -> None:
    # Decided: every row applies, "Сопровождение кандидатов в ходе выполнения индивидуального
    # плана" included (the candidates carry out their plan all year).
    assert all(activity.for_reservists for activity in petrovsky.activities)


def test_petrovsky_kinds(petrovsky: ParseResult) -> None:
    assert [a.kind for a in petrovsky.activities] == [
        K.PLANNING,
        K.OTHER,
        K.INTERVIEW,
        K.DIAGNOSTICS,
        K.TRAINING,
        K.COMPETITION,
        K.SEMINAR,
        K.SEMINAR,
        K.SELF_GOVERNMENT_DAY,
        K.CONSULTATION,
        K.COURSES,
    ]
    assert petrovsky.counts_by_kind()[K.SEMINAR] == 2
    assert K.MONITORING not in petrovsky.counts_by_kind()


# --- Kamyshin district 2022 -----------------------------------------------------------------


@pytest.fixture(scope="module")
def kamyshin() -> ParseResult:
    return parse_roadmap_file(KAMYSHIN)


def test_kamyshin_counts(kamyshin: ParseResult) -> None:
    # the passport and the "Структура / Функциональные обязанности" tables are not activities
    assert (kamyshin.tables, kamyshin.rows, len(kamyshin.activities)) == (1, 16, 16)
    assert kamyshin.warnings == ()
    assert_every_row_accounted_for(kamyshin)
    sections = [a.section for a in kamyshin.activities]
    assert sections.count("Модуль «Современный руководитель»") == 5
    assert sections.count("Модуль «Качество управления»") == 3
    assert sections.count("Модуль «Эффективная команда»") == 2
    assert sections.count("Модуль «Кадровый резерв»") == 6
    assert first_words(kamyshin) == [
        "Участие",
        "Участие",
        "Проведение",
        "Сопровождение",
        "Внедрение",
        "Участие",
        "Участие",
        "Проведение",
        "Участие",
        "Организация",
        "Участие",
        "Анализ",
        "Проведение",
        "Разработка",
        "Сопровождение",
        "Проведение",
    ]


def test_kamyshin_fields(kamyshin: ParseResult) -> None:
    rows = by_line(kamyshin)
    contest = rows[190]
    assert contest.title == "Проведение конкурса для включения в кадровый резерв"
    assert contest.kind is K.COMPETITION
    assert contest.schedule.months == (4,)
    assert contest.schedule.years == (2023, 2024)
    assert contest.schedule.recurrence is Recurrence.ONCE
    assert contest.section == "Модуль «Кадровый резерв»"
    assert contest.responsible == "Комитет образования"
    assert contest.result == ""  # the table has no result column
    # selecting candidates into the reserve is the department's work, not a reservist's to-do
    assert not contest.for_reservists
    assert (
        contest.audience_reason == "selecting candidates into the reserve is the department's work"
    )

    assert rows[176].schedule.recurrence is Recurrence.QUARTERLY  # "1 раз в квартал"
    assert rows[180].schedule.months == (10, 11)
    assert rows[180].schedule.years == (2022, 2023, 2024)
    assert rows[191].schedule.months == (6, 7)  # "июнь, июль 2022"
    assert rows[191].kind is K.PLANNING
    assert rows[189].kind is K.MONITORING
    assert rows[192].kind is K.OTHER
    assert rows[186].kind is K.SEMINAR  # «Школы управленческого мастерства»


def test_kamyshin_kinds(kamyshin: ParseResult) -> None:
    assert [a.kind for a in kamyshin.activities] == [
        *(K.SEMINAR, K.DIAGNOSTICS, K.SEMINAR, K.COMPETITION, K.CONSULTATION),
        *(K.DIAGNOSTICS, K.SEMINAR, K.SEMINAR),
        *(K.SEMINAR, K.SEMINAR),
        *(K.SEMINAR, K.MONITORING, K.COMPETITION, K.PLANNING, K.OTHER, K.SEMINAR),
    ]


def test_kamyshin_audience(kamyshin: ParseResult) -> None:
    applies = [a.source_line for a in kamyshin.activities if a.for_reservists]
    # the reserve module less "Анализ потребностей" and the competition for inclusion
    assert applies == [188, 191, 192, 193]


# --- Khabarovsk region 2023 -----------------------------------------------------------------


@pytest.fixture(scope="module")
def khabarovsk() -> ParseResult:
    return parse_roadmap_file(KHABAROVSK)


KHABAROVSK_LINES = [
    204,
    205,
    206,
    209,
    210,
    211,
    212,
    213,
    216,
    217,
    218,
    219,
    220,
    222,
    223,
    224,
    225,
    226,
    227,
    229,  # track 1: 1.1-1.20
    231,
    232,
    233,
    234,
    237,
    238,
    239,
    240,
    243,
    244,
    245,
    246,
    249,
    250,  # track 2
]


def test_khabarovsk_counts(khabarovsk: ParseResult) -> None:
    # "Таблица 1" (indicators) is not an activity table
    assert (khabarovsk.tables, khabarovsk.rows, len(khabarovsk.activities)) == (1, 34, 34)
    assert [a.source_line for a in khabarovsk.activities] == KHABAROVSK_LINES
    assert [(w.line, w.message.split(" for ")[0]) for w in khabarovsk.warnings] == [
        (212, "empty schedule"),
    ]
    assert_every_row_accounted_for(khabarovsk)
    track_1 = [a for a in khabarovsk.activities if a.section.startswith("ТРЕК 1.")]
    track_2 = [a for a in khabarovsk.activities if a.section.startswith("ТРЕК 2.")]
    assert (len(track_1), len(track_2)) == (20, 14)


def test_khabarovsk_fields(khabarovsk: ParseResult) -> None:
    rows = by_line(khabarovsk)
    no_schedule = rows[212]  # 1.7 has an empty schedule cell
    assert no_schedule.title.startswith("Курсы повышения квалификации «Технология преобразования")
    assert no_schedule.schedule.recurrence is Recurrence.ON_DEMAND
    assert no_schedule.schedule.text == ""

    courses = rows[213]  # 1.8, broken by a page break
    assert courses.title == (
        "Курсы повышения квалификации «Создание инновационных продуктов: от замысла до "
        "реализации (36 ч."
    )
    assert courses.result == (
        "обучено не менее 60 % управленческих команд, образовательных организаций, входящих в "
        "инновационную инфраструктуру сферы образования"
    )
    assert courses.schedule.years == (2023, 2024)
    assert courses.schedule.recurrence is Recurrence.CONTINUOUS
    assert courses.kind is K.COURSES

    assert rows[206].result.endswith("по вопросам управления образованием")  # 1.3
    assert rows[229].schedule.months == (8,)  # 1.20, "август 2023 г."
    assert rows[229].schedule.years == (2023,)
    assert rows[225].schedule.recurrence is Recurrence.ON_DEMAND  # by ХК ИРО's course plan

    mentors = rows[245]  # 2.14, <p> tags stripped
    assert mentors.title == (
        "Закрепление наставников за резервистами из системы краевого кадрового резерва "
        "руководителей образовательных организаций"
    )
    assert mentors.kind is K.CONSULTATION
    assert mentors.for_reservists
    assert (
        mentors.result
        == "Разработан индивидуальный план работы в системе «резервист» - «наставник»"
    )

    involvement = rows[240]  # 2.10, continuation wrapped in <p>
    assert involvement.title.endswith("публикациям научно-практических материалов")
    assert "<p>" not in involvement.title

    curators = rows[246]  # 2.15: the continuation went to the result column
    assert curators.result.endswith(
        "план работы наставников (кураторов) для вновь назначенных руководителей ОМСУ"
    )
    assert not curators.for_reservists

    last = rows[250]  # no "№" but a schedule: a row of its own
    assert last.title.startswith("Мониторинг системы работы с кадровым резервом")
    assert last.kind is K.MONITORING
    assert last.responsible == "ХК ИРО, ОМСУ"
    assert last.schedule.years == (2023, 2024)
    assert last.schedule.recurrence is Recurrence.ONCE

    assert rows[231].schedule.recurrence is Recurrence.YEARLY  # "ежегодно"
    assert rows[239].kind is K.INTERNSHIP
    assert rows[234].kind is K.INTERNSHIP


def test_khabarovsk_kinds(khabarovsk: ParseResult) -> None:
    assert [a.kind for a in khabarovsk.activities] == [
        # track 1: 1.1-1.20
        *(K.OTHER, K.OTHER, K.OTHER, K.COURSES, K.COURSES, K.COURSES, K.COURSES, K.COURSES),
        *(K.COURSES, K.SEMINAR, K.SEMINAR, K.SEMINAR, K.SEMINAR, K.SEMINAR, K.COMPETITION),
        *(K.OTHER, K.SEMINAR, K.OTHER, K.OTHER, K.OTHER),
        # track 2: 2.1-2.7, 2.10-2.12, 2.14-2.16, monitoring
        *(K.COMPETITION, K.COURSES, K.COURSES, K.INTERNSHIP, K.INTERNSHIP, K.OTHER),
        # 2.10 involves the reserve in project work (other), whatever competitions it names
        *(K.INTERNSHIP, K.OTHER, K.OTHER, K.COURSES, K.CONSULTATION, K.CONSULTATION),
        *(K.COMPETITION, K.MONITORING),
    ]


def test_khabarovsk_audience(khabarovsk: ParseResult) -> None:
    applies = [a.source_line for a in khabarovsk.activities if a.for_reservists]
    # track 2 less the competition for inclusion 2.1 (231), 2.4 (234), 2.6 (238), the courses
    # for management teams 2.12 (244), 2.15 (246) and the monitoring (250); no track 1 row
    assert applies == [232, 233, 237, 239, 240, 243, 245, 249]


# --- stable keys --------------------------------------------------------------------------


def test_keys_survive_reformatting() -> None:
    original = PETROVSKY.read_text(encoding="utf-8")
    reformatted = "\n\n" + original  # two more lines on top
    for old, new in [
        ("Психологические тренинги", "Психологические  тренинги"),  # spacing
        ("«Один день из жизни", '"Один день из жизни'),  # quotes
        ("образовательного учреждения»", 'образовательного учреждения"'),
        ("Составление индивидуального", "<p>Составление индивидуального"),  # tags
        ("2\tМетодическое", "2.\tМетодическое"),  # numbering
    ]:
        assert old in reformatted
        reformatted = reformatted.replace(old, new)
    before = parse_roadmap_text(original)
    after = parse_roadmap_text(reformatted)
    assert [a.key for a in after.activities] == [a.key for a in before.activities]
    assert [a.source_line for a in after.activities] == [
        a.source_line + 2 for a in before.activities
    ]


def test_key_depends_on_section_and_title() -> None:
    text = (
        "№\tМероприятия\tСроки\n"
        "Модуль «А»\t\t\n"
        "1.\tСеминар\tянварь\n"
        "2.\tСеминар\tфевраль\n"
        "Модуль «Б»\t\t\n"
        "1)\tСЕМИНАР.\tмарт\n"
    )
    first, duplicate, other = parse_roadmap_text(text).activities
    assert len(first.key) == 16
    assert int(first.key, 16) >= 0
    assert duplicate.key != first.key  # the same title twice in a section gets its own key
    assert other.key != first.key


# --- default roadmap ------------------------------------------------------------------------


def test_default_roadmap() -> None:
    assert DEFAULT_ROADMAP_PATH.name == "default_roadmap.txt"
    first_line = DEFAULT_ROADMAP_PATH.read_text(encoding="utf-8").splitlines()[0]
    assert "\t" not in first_line
    assert "159" in first_line
    assert "03.08.2022" in first_line
    result = parse_roadmap_file(DEFAULT_ROADMAP_PATH)
    assert (result.tables, result.rows, len(result.activities), result.warnings) == (
        1,
        11,
        11,
        (),
    )
    assert all(activity.for_reservists for activity in result.activities)
    by_kind = {activity.kind: activity for activity in result.activities}
    assert by_kind[K.DIAGNOSTICS].schedule.months == (1,)
    assert "лидерских качеств и управленческого потенциала" in by_kind[K.DIAGNOSTICS].title
    assert by_kind[K.TRAINING].schedule.months == (3, 6, 10)
    assert by_kind[K.SELF_GOVERNMENT_DAY].schedule.months == (10,)
    assert by_kind[K.PLANNING].schedule.windows == ((12, 1),)
    assert by_kind[K.PLANNING].title.startswith("Составление индивидуального плана")
    assert by_kind[K.INTERVIEW].schedule.months == (12,)
    assert all(
        a.schedule.recurrence in (Recurrence.YEARLY, Recurrence.CONTINUOUS, Recurrence.ON_DEMAND)
        for a in result.activities
    )


def test_default_roadmap_is_the_petrovsky_table() -> None:
    default = parse_roadmap_file(DEFAULT_ROADMAP_PATH).activities
    seed = parse_roadmap_file(PETROVSKY).activities
    assert [a.key for a in default] == [a.key for a in seed]
    assert [a.to_json() | {"source_line": 0} for a in default] == [
        a.to_json() | {"source_line": 0} for a in seed
    ]


# --- text rules -----------------------------------------------------------------------------


def test_to_json_has_exactly_the_documented_keys() -> None:
    activity = parse_roadmap_text("Мероприятия\tСроки\nТренинг\tмарт\n").activities[0]
    assert activity.to_json() == {
        "title": "Тренинг",
        "kind": "training",
        "schedule": {"months": [3], "years": [], "recurrence": "yearly", "text": "март"},
        "responsible": "",
        "result": "",
        "section": "",
        "source_line": 2,
        "kind_reason": "a training: «тренинг» in the title",
        "for_reservists": True,
        "audience_reason": "a table without sections: a kind a reservist takes part in",
    }


def test_unreadable_schedule_and_row_without_title_are_warned() -> None:
    text = (
        "Введение\n"
        "№ п/п\tМероприятие (содержание деятельности)\tСроки исполнения\tИсполнители\n"
        "1\t2\t3\t4\n"
        "1.\tТренинг для резерва\tкогда-нибудь\tОтдел\n"
        "2.\t\tмарт\tОтдел\n"
        "3.\tКонсультации\tпо итогам\tОтдел\n"
    )
    result = parse_roadmap_text(text)
    assert (result.tables, result.rows, len(result.activities)) == (1, 3, 2)
    assert [(w.line, w.message) for w in result.warnings] == [
        (4, "unreadable schedule 'когда-нибудь' for 'Тренинг для резерва'; treated as on demand"),
        (5, "row 2. has no activity title; skipped"),
        (6, "unreadable schedule 'по итогам' for 'Консультации'; treated as on demand"),
    ]
    trainings = result.activities[0]
    assert trainings.schedule.recurrence is Recurrence.ON_DEMAND
    assert trainings.schedule.text == "когда-нибудь"
    assert trainings.responsible == "Отдел"
    assert_every_row_accounted_for(result)


def test_table_ends_at_a_line_without_tab_and_blank_lines_are_page_breaks() -> None:
    text = (
        "Мероприятия\tСроки\tОтветственные\n"
        "Семинар для резерва\tмарт\tИМЦ\n"
        "\n"
        "\t\t\n"
        "Тренинг для\tапрель\tИМЦ\n"
        "\n"
        "резерва\t\t\n"
        "Конец таблицы\n"
        "Потом\tдругая\tтаблица\n"
    )
    result = parse_roadmap_text(text)
    assert [(a.title, a.source_line) for a in result.activities] == [
        ("Семинар для резерва", 2),
        ("Тренинг для резерва", 5),  # a lower-case piece continues the first column
    ]
    assert result.rows == 2


def test_continuation_with_only_the_direction_column_is_not_a_section() -> None:
    text = (
        "№\tНаправление работы\tМероприятия\tСроки\n"
        "1\tМетодическое сопровождение\tТренинг\tмарт\n"
        "\n"
        "резерва управленческих кадров\t\t\n"  # lost the "№" column after the page break
        "\tСеминар\tмай\n"
    )
    result = parse_roadmap_text(text)
    assert [(a.title, a.section) for a in result.activities] == [
        ("Тренинг", "Методическое сопровождение резерва управленческих кадров"),
        ("Семинар", "Методическое сопровождение резерва управленческих кадров"),
    ]
    assert result.warnings == ()


def test_schedule_broken_across_a_page_break_is_joined_with_a_warning() -> None:
    text = (
        "№\tМероприятия\tСроки\tОтветственные\n"
        "1\tСобеседование\tЕжегодно\tОтдел\n"
        "\n"
        "\t\tдекабрь\tобразования\n"
    )
    result = parse_roadmap_text(text)
    (interview,) = result.activities
    assert interview.schedule.text == "Ежегодно декабрь"
    assert interview.schedule.months == (12,)
    assert interview.responsible == "Отдел образования"
    assert [(w.line, w.message) for w in result.warnings] == [
        (4, "cells without a title were joined to the row at line 2"),
    ]
    assert result.rows == 1


def test_repeated_header_on_a_new_page_is_not_a_new_table() -> None:
    header = "№\tМероприятия\tСроки\n"
    text = header + "1\tСеминар\tмарт\n\n" + header + "2\tТренинг\tмай\n"
    result = parse_roadmap_text(text)
    assert (result.tables, result.rows) == (1, 2)


def test_two_activity_tables() -> None:
    text = (
        "Мероприятия\tСроки\nСеминар\tмарт\nПриложение 2\n"
        "Наименование мероприятия\tСроки реализации\tРезультаты\nТренинг\tмай\tПрограмма\n"
    )
    result = parse_roadmap_text(text)
    assert (result.tables, result.rows) == (2, 2)
    assert result.activities[1].result == "Программа"


def test_extra_cells_are_joined_to_the_last_column_with_a_warning() -> None:
    text = "Мероприятия\tСроки\tОтветственные\nСеминар\tмарт\tИМЦ\tкомитет\n"
    result = parse_roadmap_text(text)
    assert result.activities[0].responsible == "ИМЦ комитет"
    assert [w.line for w in result.warnings] == [2]


def test_section_row_with_only_numbering_is_a_row_without_title() -> None:
    result = parse_roadmap_text("№\tМероприятия\tСроки\n2.8.\t\t\n")
    assert result.rows == 1
    assert result.activities == ()
    assert result.warnings[0].line == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Просто текст приказа без таблиц.", "no tab-separated table"),
        ("", "no tab-separated table"),
        ("№п/п\tПоказатели\tМетодика расчета\tВыборка\n1.\tДоля\tD = K/O\tвсе\n", "Показатели"),
        ("Цель Программы\t- консолидация условий\n", "no activity table among 1 table"),
        ("Мероприятия\tСроки\n1\t2\n", "no rows"),
    ],
)
def test_text_without_activity_table_is_rejected(text: str, reason: str) -> None:
    with pytest.raises(RoadmapFormatError, match=reason):
        parse_roadmap_text(text)


def test_seed_without_its_activity_table_is_rejected() -> None:
    text = KAMYSHIN.read_text(encoding="utf-8").split("ПРИЛОЖЕНИЕ")[0]
    with pytest.raises(RoadmapFormatError, match=r"among 2 table.*Цель Программы.*Структура"):
        parse_roadmap_text(text)


# --- files ----------------------------------------------------------------------------------


def test_parse_roadmap_file_encodings_and_suffixes(tmp_path: Path) -> None:
    text = "Мероприятия\tСроки\r\nСобеседование\tдекабрь\r\n"
    for name, data in [
        ("plan.txt", text.encode("utf-8")),
        ("plan.md", text.encode("utf-8-sig")),
        ("PLAN.TEXT", text.encode("cp1251")),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        activity = parse_roadmap_file(path).activities[0]
        assert (activity.title, activity.kind, activity.schedule.months) == (
            "Собеседование",
            K.INTERVIEW,
            (12,),
        )
    for name in ("plan.pdf", "plan.doc", "plan"):
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(RoadmapFormatError, match=r"not supported|unsupported"):
            parse_roadmap_file(tmp_path / name)


def build_docx(path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("План мероприятий по работе с резервом управленческих кадров")
    other = document.add_table(rows=2, cols=3)
    for cell, text in zip(
        other.rows[0].cells, ["№ п/п", "Структура", "Функциональные обязанности"], strict=True
    ):
        cell.text = text
    for cell, text in zip(
        other.rows[1].cells, ["1.", "МКУ ИМЦ", "методическая поддержка"], strict=True
    ):
        cell.text = text
    document.add_paragraph("Перечень мероприятий")
    table = document.add_table(rows=7, cols=5)
    rows = [
        [
            "№",
            "Мероприятие (содержание деятельности)",
            "Сроки исполнения",
            "Исполнители",
            "Планируемый результат",
        ],
        None,  # the section row, merged across all columns
        [
            "1.",
            "Психологический тренинг для резервистов",
            "Март июнь октябрь",
            "РЦОСОК",
            "Программа тренингов",
        ],
        ["2.", "Собеседование по итогам года", "Ежегодно декабрь", "Отдел образования", "Справка"],
        ["3.", "Анализ потребностей в кадрах", "декабрь 2024", "Комитет", "Отчёт"],
        ["4.", "Индивидуальные консультации", "когда-нибудь", "ИМЦ", ""],
        ["1", "2", "3", "4", "5"],
    ]
    for row, texts in zip(table.rows, rows, strict=True):
        if texts is None:
            merged = row.cells[0].merge(row.cells[4])
            merged.text = "Модуль «Кадровый резерв»"
            continue
        for cell, text in zip(row.cells, texts, strict=True):
            cell.text = text
    document.save(str(path))


def test_docx(tmp_path: Path) -> None:
    path = tmp_path / "roadmap.docx"
    build_docx(path)
    result = parse_roadmap_file(path)
    assert (result.tables, result.rows, len(result.activities)) == (1, 4, 4)
    training, interview, analysis, consultations = result.activities
    # rows are numbered over all rows of all tables: 2 of the first table, then 7
    assert [a.source_line for a in result.activities] == [5, 6, 7, 8]
    assert training.title == "Психологический тренинг для резервистов"
    assert training.kind is K.TRAINING
    assert training.schedule.months == (3, 6, 10)
    assert training.responsible == "РЦОСОК"
    assert training.result == "Программа тренингов"
    assert training.section == "Модуль «Кадровый резерв»"
    assert training.for_reservists
    assert interview.kind is K.INTERVIEW
    assert interview.schedule.recurrence is Recurrence.YEARLY
    assert analysis.kind is K.MONITORING
    assert analysis.schedule.years == (2024,)
    assert not analysis.for_reservists
    assert consultations.kind is K.CONSULTATION
    assert [(w.line, w.message.split(" for ")[0]) for w in result.warnings] == [
        (8, "unreadable schedule 'когда-нибудь'"),
    ]
    # the same document as bytes and as a file object
    assert parse_roadmap_docx(path.read_bytes()) == result
    with path.open("rb") as handle:
        assert parse_roadmap_docx(handle) == result


def test_docx_without_activity_table_is_rejected(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Приказ")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Цель Программы"
    table.rows[0].cells[1].text = "консолидация условий"
    buffer = io.BytesIO()
    document.save(buffer)
    with pytest.raises(RoadmapFormatError, match="no activity table among 1 table"):
        parse_roadmap_docx(buffer.getvalue())

    empty = docx.Document()
    empty.add_paragraph("Только текст")
    buffer = io.BytesIO()
    empty.save(buffer)
    with pytest.raises(RoadmapFormatError, match="no tables"):
        parse_roadmap_docx(buffer.getvalue())


def test_broken_docx_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(RoadmapFormatError, match=r"not a readable \.docx"):
        parse_roadmap_file(path)


# --- issue 11: page-break continuations that carry text in several columns ------------------

HEADER_5 = "№\tМероприятия\tСроки\tОтветственные\tРезультат\n"


def test_continuation_with_title_and_responsible_is_joined() -> None:
    text = (
        HEADER_5 + "1\tСеминар для руководителей образовательных\tмарт\tОтдел образования\tПлан\n"
        "\n"
        "\tорганизаций\t\tадминистрации района\t\n"
        "2\tТренинг\tмай\tИМЦ\t\n"
    )
    result = parse_roadmap_text(text)
    assert [(a.title, a.responsible) for a in result.activities] == [
        (
            "Семинар для руководителей образовательных организаций",
            "Отдел образования администрации района",
        ),
        ("Тренинг", "ИМЦ"),
    ]
    assert result.rows == 2
    assert result.warnings == ()


def test_continuation_whose_responsible_goes_on_in_lower_case_is_joined() -> None:
    text = (
        HEADER_5 + "1\tСеминар «Управление\tмарт\tОтдел\t\n"
        "\tкачеством»\t\tобразования\t\n"
        "\tДиагностика компетенций\t\tИМЦ\t\n"
    )
    result = parse_roadmap_text(text)
    titles = [a.title for a in result.activities]
    # the second piece continues (lower case); the third is a row of its own without a schedule
    assert titles == ["Семинар «Управление качеством»", "Диагностика компетенций"]
    assert result.activities[0].responsible == "Отдел образования"


def test_open_quote_joins_a_capitalised_continuation() -> None:
    text = HEADER_5 + "1\tКурсы «Школа\tапрель\tИРО\t\n\tМолодого Руководителя»\t\tИРО\t\n"
    (courses,) = parse_roadmap_text(text).activities
    assert courses.title == "Курсы «Школа Молодого Руководителя»"


def test_continuation_with_a_schedule_piece_is_joined() -> None:
    text = (
        HEADER_5 + "1\tУчастие в конкурсе для\tЕжегодно (Апрель-май,\tОтдел\t\n"
        "\n"
        "\tрезервистов\t2021 г.)\t\t\n"
    )
    (contest,) = parse_roadmap_text(text).activities
    assert contest.title == "Участие в конкурсе для резервистов"
    assert contest.schedule.text == "Ежегодно (Апрель-май, 2021 г.)"
    assert contest.schedule.recurrence is Recurrence.YEARLY
    assert (contest.schedule.months, contest.schedule.first_year) == ((4, 5), 2021)


def test_capitalised_row_with_its_own_schedule_is_a_new_row() -> None:
    text = HEADER_5 + "1\tСеминар\tмарт\tИМЦ\t\n\tТренинг\tмай\tИМЦ\t\n"
    assert [a.title for a in parse_roadmap_text(text).activities] == ["Семинар", "Тренинг"]


def test_json_shows_who_the_activity_is_for_and_why() -> None:
    text = (
        "Мероприятия\tСроки\n"
        "Кадровый резерв\t\n"
        "Назначение руководителей ОО из числа резерва\tпо мере необходимости\n"
        "Участие резервистов в семинарах\tмарт\n"
    )
    first, second = (a.to_json() for a in parse_roadmap_text(text).activities)
    assert (first["for_reservists"], first["audience_reason"]) == (
        False,
        "appointing heads is the department's decision",
    )
    assert (second["for_reservists"], second["audience_reason"]) == (
        True,
        "the reservist takes part, passes or attends",
    )
