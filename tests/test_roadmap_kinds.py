"""Activity kinds and audience, pinned on rows of the real roadmaps in the seeds."""

from __future__ import annotations

import pytest

from bot.services.roadmap import ActivityKind, applies_to_reservists, classify_kind
from bot.services.roadmap.kinds import AUDIENCE_RULES, KIND_RULES, decide_audience, read_kind

K = ActivityKind

PETROVSKY_2 = (
    "Методическое сопровождение резерва управленческих кадров и педагогических работников, "
    "планирующих вертикальный карьерный рост."
)
KAMYSHIN_RESERVE = "Модуль «Кадровый резерв»"
KAMYSHIN_LEADER = "Модуль «Современный руководитель»"
KHABAROVSK_1 = "ТРЕК 1. Повышение качества управленческой деятельности руководителей"
KHABAROVSK_2 = "ТРЕК 2. Формирование и использование кадрового резерва руководителей"


# (kind, title) of real rows; long titles are cut at a word boundary.
SEED_ROWS: list[tuple[ActivityKind, str]] = [
    # Petrovsky 2022
    (
        K.PLANNING,
        "Составление индивидуального плана подготовки к замещению должности руководителя",
    ),
    (K.OTHER, "Сопровождение кандидатов в ходе выполнения индивидуального плана"),
    (K.INTERVIEW, "Собеседование по итогам выполнения индивидуального плана"),
    (K.DIAGNOSTICS, "Психолого-педагогическая диагностика лидерских качеств"),
    (
        K.TRAINING,
        "Психологические тренинги для педагогов, планирующих вертикальный карьерный рост",
    ),
    (K.COMPETITION, "Муниципальные этапы конкурсов профессионального мастерства"),
    (K.SEMINAR, "Работа виртуальной площадки для руководителей образовательных учреждений"),
    (K.SEMINAR, "Участие в работе площадок (секций) руководителей образовательных учреждений."),
    # a self-government day, not a seminar or anything else
    (
        K.SELF_GOVERNMENT_DAY,
        (
            "Участие в Дне самоуправления в образовательных учреждениях «Один день из жизни "
            "руководителя образовательного учреждения»"
        ),
    ),
    (K.SELF_GOVERNMENT_DAY, "«Один день из жизни руководителя»"),
    (K.SELF_GOVERNMENT_DAY, "День самоуправления"),
    (K.CONSULTATION, "Подбор наставника из числа опытных руководящих работников"),
    (K.COURSES, "Направление на курсы переподготовки по направлению «Менеджмент образования»"),
    # Kamyshin 2022
    (K.SEMINAR, "Участие в региональных семинарах"),
    (K.DIAGNOSTICS, "Участие в экспресс- диагностики оценки сформированности компетенций"),
    (K.COMPETITION, "Сопровождение участников профессиональных конкурсов"),
    (K.CONSULTATION, "Внедрение технологии управленческого наставничества посредством"),
    (K.CONSULTATION, "включения в ОО в систему менторства"),
    (K.SEMINAR, "Участие в региональных семинарах - практикумов"),
    (K.SEMINAR, "Организация работы «Школы управленческого мастерства»"),
    (K.MONITORING, "Анализ потребностей"),
    (K.COMPETITION, "Проведение конкурса для включения в кадровый резерв"),
    (K.PLANNING, "Разработка индивидуальных планов профессионального развития"),
    # not planning: nothing is drawn up
    (K.OTHER, "Сопровождение выполнения индивидуальных планов развития резервистов"),
    (K.SEMINAR, "Проведение семинаров-практикумов для лиц, включенных в кадровый резерв."),
    # Khabarovsk 2023
    (K.OTHER, "Формирование регионального управленческого актива"),
    (K.COURSES, "Курсы повышения квалификации «Развитие управленческих компетенций»"),
    (K.SEMINAR, "Краевой он-лайн семинар «Психологическое обеспечение образовательного процесса"),
    # a seminar about monitoring results is a seminar
    (
        K.SEMINAR,
        (
            "Межрегиональный семинар «Успешные практики управления с учетом анализа результатов "
            "мониторинга показателей оценки механизмов управления качеством образования»"
        ),
    ),
    (K.SEMINAR, "Формирование системы постоянно действующих практических семинаров/вебинаров"),
    # "конкурс" contains "курс" but is not courses
    (K.COMPETITION, "Краевой конкурс на лучшую муниципальную программу преодоления неуспешности"),
    (
        K.OTHER,
        (
            "Разработка рекомендаций по использованию успешных практик управления с учетом "
            "анализа результатов мониторинга показателей оценки механизмов управления качеством "
            "образования"
        ),
    ),
    (K.COMPETITION, "Проведение конкурса на включение в краевой кадровый резерв руководителей"),
    (K.COURSES, "Проведение курсов повышения квалификации для резерва руководителей"),
    # "стажировочных площадок" is an internship, not a seminar
    (
        K.INTERNSHIP,
        (
            "Формирование системы региональных, муниципальных стажировочных площадок для "
            "личностного профессионального развития кадрового резерва"
        ),
    ),
    (
        K.INTERNSHIP,
        (
            "Организация обучения кадрового резерва руководителей системы образования и "
            "управленческих команд образовательных организаций на региональных и муниципальных "
            "стажировочных площадках края"
        ),
    ),
    (
        K.INTERNSHIP,
        "Проведение стажировок для кадрового резерва в качестве помощника руководителя",
    ),
    (
        K.CONSULTATION,
        "Закрепление наставников за резервистами из системы краевого кадрового резерва",
    ),
    (K.COMPETITION, "Краевой конкурс для резервиста и наставника"),
    (K.MONITORING, "Мониторинг системы работы с кадровым резервом и управленческими командами"),
    # not from the seeds: the rest of the vocabulary
    (K.MONITORING, "Оценка эффективности деятельности руководителей"),
    (K.CONSULTATION, "Консультации для резервистов"),
    (K.SEMINAR, "Вебинар для резерва"),
    (K.OTHER, "Издание приказа о составе рабочей группы"),
]


@pytest.mark.parametrize(("kind", "title"), SEED_ROWS)
def test_classify_kind_on_seed_rows(kind: ActivityKind, title: str) -> None:
    assert classify_kind(title) is kind


def test_result_is_read_only_when_the_title_says_nothing() -> None:
    assert classify_kind("Работа с резервом", "Проведены тренинги") is K.TRAINING
    assert classify_kind("Подбор наставника", "Проведены тренинги") is K.CONSULTATION
    assert classify_kind("Работа с резервом", "Справка") is K.OTHER


def test_classify_kind_ignores_case_and_yo() -> None:
    assert classify_kind("ПСИХОЛОГИЧЕСКИЙ ТРЕНИНГ") is K.TRAINING
    assert classify_kind("Разработка индивидуального плана, утверждённого отделом") is K.PLANNING


@pytest.mark.parametrize(
    ("title", "section", "kind", "expected"),
    [
        # Petrovsky: both "Направление работы" name candidates / the reserve.
        (
            "Составление индивидуального плана",
            "Сопровождение кандидатов, включённых в резерв",
            K.PLANNING,
            True,
        ),
        # decided: applies (the reservist carries out the plan all year; see the docstring)
        (
            "Сопровождение кандидатов в ходе выполнения индивидуального плана",
            "Сопровождение кандидатов, включённых в резерв",
            K.OTHER,
            True,
        ),
        (
            "Муниципальные этапы конкурсов профессионального мастерства",
            PETROVSKY_2,
            K.COMPETITION,
            True,
        ),
        (
            "Работа виртуальной площадки для руководителей образовательных учреждений",
            PETROVSKY_2,
            K.SEMINAR,
            True,
        ),
        # Kamyshin: only the reserve module, and not the department's needs analysis
        ("Участие в региональных семинарах - практикумах", KAMYSHIN_RESERVE, K.SEMINAR, True),
        ("Анализ потребностей", KAMYSHIN_RESERVE, K.MONITORING, False),
        ("Анализ потребностей", KAMYSHIN_RESERVE, K.OTHER, False),
        (
            "Сопровождение выполнения индивидуальных планов развития резервистов",
            KAMYSHIN_RESERVE,
            K.OTHER,
            True,
        ),
        ("Участие в региональных семинарах", KAMYSHIN_LEADER, K.SEMINAR, False),
        ("Участие в экспресс- диагностики оценки", KAMYSHIN_LEADER, K.DIAGNOSTICS, False),
        # Khabarovsk: track 2 rows a reservist takes part in
        ("Курсы повышения квалификации «Развитие компетенций»", KHABAROVSK_1, K.COURSES, False),
        ("Проведение стажировок для кадрового резерва", KHABAROVSK_2, K.INTERNSHIP, True),
        (
            "Формирование системы региональных, муниципальных стажировочных площадок",
            KHABAROVSK_2,
            K.INTERNSHIP,
            False,
        ),
        ("Организация системы адресной методической помощи", KHABAROVSK_2, K.OTHER, False),
        ("Закрепление наставников за резервистами", KHABAROVSK_2, K.CONSULTATION, True),
        (
            "Закрепление наставников (кураторов) для вновь назначенных руководителей ОМСУ",
            KHABAROVSK_2,
            K.CONSULTATION,
            False,
        ),
        ("Мониторинг системы работы с кадровым резервом", KHABAROVSK_2, K.MONITORING, False),
        (
            "Разработка концепции непрерывного профессионального развития",
            KHABAROVSK_2,
            K.OTHER,
            False,
        ),
        ("Обобщение лучших практик работы с резервом", KHABAROVSK_2, K.OTHER, False),
        # a title naming the reserve applies even under another heading
        ("Семинар для лиц, включенных в кадровый резерв", KAMYSHIN_LEADER, K.SEMINAR, True),
        # no sections: the wording or the kind decides
        ("Психологические тренинги", "", K.TRAINING, True),
        ("Собеседование", "", K.INTERVIEW, True),
        ("Издание приказа о составе рабочей группы", "", K.OTHER, False),
        ("Информирование резервистов о вакансиях", "", K.OTHER, True),
        ("Мониторинг результатов резервистов", "", K.MONITORING, False),
    ],
)
def test_applies_to_reservists(
    title: str, section: str, kind: ActivityKind, expected: bool
) -> None:
    assert applies_to_reservists(title, section, kind) is expected


def test_applies_to_reservists_reads_the_result_when_given() -> None:
    assert not applies_to_reservists("Работа с документами", "", K.OTHER)
    assert applies_to_reservists(
        "Работа с документами", "", K.OTHER, result="Кандидаты выполняют мероприятия плана"
    )


# --- issue 11: the rules as data, each on a short made-up row --------------------------------

RESERVE = "Работа с кадровым резервом"
HEADS = "Повышение качества управления"


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        # the individual plan (ИОМ, маршрут, план) drawn up, or the row is the plan itself
        ("Разработка ИОМ резервиста", K.PLANNING),
        ("Составление индивидуального образовательного маршрута", K.PLANNING),
        ("ИОМ руководителя из резерва", K.PLANNING),
        ("Индивидуальный план развития резервиста", K.PLANNING),
        ("Корректировка индивидуальной программы развития", K.PLANNING),
        # carrying out a plan is not drawing it up
        ("Сопровождение реализации ИОМ", K.OTHER),
        # courses by their short name too
        ("Обучение на КПК по программе «Менеджмент в образовании»", K.COURSES),
        ("Прохождение курсов повышения квалификации победителями конкурса", K.COURSES),
        ("Курсы повышения квалификации для участников конкурса «Лидер»", K.COURSES),
        # an appointment after a competition is an appointment (other), not a competition
        ("Назначение на должность руководителя по результатам конкурса", K.OTHER),
        ("Назначение руководителей ОО из числа резерва", K.OTHER),
        ("Реализация системы назначения руководителей ОО", K.OTHER),
        # help or motivation based on monitoring is not monitoring
        ("Оказание адресной методической помощи по результатам мониторинга", K.OTHER),
        ("Мотивация руководителей по результатам мониторинга", K.OTHER),
        ("Семинар по результатам мониторинга эффективности руководителей", K.SEMINAR),
        # … but a monitoring row still is
        ("Мониторинг эффективности деятельности руководителей", K.MONITORING),
        # the head of the row wins over the words it mentions later
        ("Собеседование с победителями конкурса", K.INTERVIEW),
        ("Вовлечение резервистов в проектную деятельность, участие в конкурсах", K.OTHER),
        # a mentor named, not an appointment to a post
        ("Назначение наставника резервисту", K.CONSULTATION),
        ("Оказание консультативной помощи резервистам", K.CONSULTATION),
    ],
)
def test_kind_from_what_the_row_does(title: str, kind: ActivityKind) -> None:
    assert classify_kind(title) is kind


def test_kind_reading_keeps_the_reason_and_how_sure() -> None:
    reading = read_kind("Назначение руководителей по результатам конкурса")
    assert reading.kind is K.OTHER
    assert reading.reason.startswith("an appointment to a post")
    assert "«назначение»" in reading.reason
    assert reading.certain
    from_result = read_kind("Работа с резервом", "Проведены тренинги")
    assert (from_result.kind, from_result.certain) == (K.TRAINING, False)
    assert "in the result" in from_result.reason
    assert not read_kind("Работа с резервом").certain


def test_every_kind_rule_has_a_reason_and_compiles() -> None:
    assert all(rule.reason and rule.pattern.pattern for rule in KIND_RULES)
    assert all(rule.reason for rule in AUDIENCE_RULES)
    assert {rule.for_reservists for rule in AUDIENCE_RULES} == {True, False}


@pytest.mark.parametrize(
    ("title", "section", "expected", "reason"),
    [
        # the department's work about the reserve stays in the roadmap, whatever its section
        (
            "Назначение руководителей ОО из числа резерва",
            RESERVE,
            False,
            "appointing heads is the department's decision",
        ),
        (
            "Реализация системы назначения руководителей ОО",
            RESERVE,
            False,
            "appointing heads is the department's decision",
        ),
        (
            "Формирование программы подготовки резерва",
            RESERVE,
            False,
            "the department forms or updates the reserve, its lists, programmes or systems",
        ),
        (
            "Актуализация списков кадрового резерва",
            RESERVE,
            False,
            "the department forms or updates the reserve, its lists, programmes or systems",
        ),
        (
            "Организация системы работы с резервом",
            RESERVE,
            False,
            "the department builds or runs a system",
        ),
        (
            "Проведение конкурса на включение в кадровый резерв",
            RESERVE,
            False,
            "selecting candidates into the reserve is the department's work",
        ),
        (
            "Разработка положения о кадровом резерве",
            RESERVE,
            False,
            "the department drafts documents",
        ),
        ("Анализ кадровой потребности", RESERVE, False, "the department analyses or sums up"),
        (
            "Курсы по запросам от управленческих команд",
            RESERVE,
            False,
            "for another audience (newly appointed heads, management teams), not the reserve",
        ),
        # what the reservist does goes into plans
        (
            "Разработка ИОМ",
            RESERVE,
            True,
            "the reservist draws up their individual plan",
        ),
        (
            "Участие в областном форуме молодых руководителей",
            RESERVE,
            True,
            "the reservist takes part, passes or attends",
        ),
        (
            "Прохождение тестирования управленческих компетенций",
            RESERVE,
            True,
            "the reservist takes part, passes or attends",
        ),
        ("Собеседование с резервистом", HEADS, True, "the reservist is interviewed"),
        (
            "Проведение тренингов для кандидатов",
            HEADS,
            True,
            "an event held for the reserve: the reservist attends",
        ),
        (
            "Закрепление наставника за резервистом",
            RESERVE,
            True,
            "the reservist gets a mentor",
        ),
        (
            "Направление резервистов на стажировку",
            RESERVE,
            True,
            "the reservist is sent to courses or an internship",
        ),
        # a reservist's verb outside the reserve is a head's, not a reservist's
        (
            "Участие в региональных семинарах",
            HEADS,
            False,
            "neither the section nor the wording is about the reserve",
        ),
    ],
)
def test_audience_rules(title: str, section: str, expected: bool, reason: str) -> None:
    audience = decide_audience(title, section, classify_kind(title))
    assert (audience.for_reservists, audience.reason) == (expected, reason)
    assert audience.certain


def test_audience_without_a_rule_is_a_guess() -> None:
    audience = decide_audience("Муниципальные этапы конкурсов", RESERVE, K.COMPETITION)
    assert audience.for_reservists
    assert audience.reason == "under a section about the reserve"
    assert not audience.certain


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        (
            "Составление списка кандидатов в резерв",
            "the department forms or updates the reserve, its lists, programmes or systems",
        ),
        (
            "Включение в кадровый резерв по итогам конкурса",
            "including people in the reserve or excluding them is the department's decision",
        ),
        (
            "Исключение из резерва лиц, не выполнивших план",
            "including people in the reserve or excluding them is the department's decision",
        ),
        (
            "Заседание комиссии по формированию резерва",
            "a meeting of the department's commission or working group",
        ),
        (
            "Размещение информации о кадровом резерве на сайте",
            "the department publishes information or collects applications",
        ),
        (
            "Сбор заявлений кандидатов на включение в резерв",
            "the department publishes information or collects applications",
        ),
    ],
)
def test_more_department_work_stays_out_of_plans(title: str, reason: str) -> None:
    audience = decide_audience(title, RESERVE, classify_kind(title))
    assert (audience.for_reservists, audience.reason) == (False, reason)
