"""Schedule phrases of real roadmaps ("Сроки" cells) -> Schedule."""

from __future__ import annotations

import pytest

from bot.services.roadmap import Recurrence, Schedule, parse_schedule

Y = Recurrence.YEARLY
Q = Recurrence.QUARTERLY
ONCE = Recurrence.ONCE
C = Recurrence.CONTINUOUS
D = Recurrence.ON_DEMAND
QUARTERS = ((1, 3), (4, 6), (7, 9), (10, 12))


@pytest.mark.parametrize(
    ("phrase", "months", "years", "recurrence", "windows"),
    [
        # single months and ranges
        ("январь", (1,), (), Y, ((1, 1),)),
        ("Декабрь-январь", (12, 1), (), Y, ((12, 1),)),
        ("октябрь-ноябрь", (10, 11), (), Y, ((10, 11),)),
        ("с января по март", (1, 2, 3), (), Y, ((1, 3),)),
        ("сентябрь – май", (9, 10, 11, 12, 1, 2, 3, 4, 5), (), Y, ((9, 5),)),
        # lists
        ("Март июнь октябрь", (3, 6, 10), (), Y, ((3, 3), (6, 6), (10, 10))),
        ("август январь", (8, 1), (), Y, ((8, 8), (1, 1))),
        ("июнь, июль 2022", (6, 7), (2022,), ONCE, ((6, 6), (7, 7))),
        # "Ежегодно …"
        ("Ежегодно Декабрь-январь", (12, 1), (), Y, ((12, 1),)),
        ("Ежегодно декабрь", (12,), (), Y, ((12, 12),)),
        ("Ежегодно Октябрь", (10,), (), Y, ((10, 10),)),
        ("Ежегодно август январь", (8, 1), (), Y, ((8, 8), (1, 1))),
        ("ежегодно", (), (), Y, ()),
        ("Ежегодно", (), (), Y, ()),
        # years
        ("апрель 2023, 2024", (4,), (2023, 2024), ONCE, ((4, 4),)),
        ("апрель 2023,2024", (4,), (2023, 2024), ONCE, ((4, 4),)),
        ("декабрь 2022, 2023, 2024", (12,), (2022, 2023, 2024), ONCE, ((12, 12),)),
        ("октябрь-ноябрь 2022, 2023, 2024", (10, 11), (2022, 2023, 2024), ONCE, ((10, 11),)),
        ("Ноябрь 2022г. Ноябрь 2023г.", (11,), (2022, 2023), ONCE, ((11, 11),)),
        ("2023 – 2024 гг.", (), (2023, 2024), C, ()),
        ("2023-2024 гг.", (), (2023, 2024), C, ()),
        ("2021 – 2025 годы", (), (2021, 2022, 2023, 2024, 2025), C, ()),
        ("2023г.", (), (2023,), ONCE, ()),
        ("2023 г.", (), (2023,), ONCE, ()),
        ("2024 г.", (), (2024,), ONCE, ()),
        ("2023", (), (2023,), ONCE, ()),
        ("2023, 2024", (), (2023, 2024), ONCE, ()),
        ("август 2023 г.", (8,), (2023,), ONCE, ((8, 8),)),
        ("Июнь, 2021 г.", (6,), (2021,), ONCE, ((6, 6),)),
        (
            "сентябрь 2023 г. – май 2024 г.",
            (9, 10, 11, 12, 1, 2, 3, 4, 5),
            (2023, 2024),
            ONCE,
            ((9, 5),),
        ),
        # quarterly
        ("ежеквартально", (), (), Q, QUARTERS),
        ("Ежеквартально", (), (), Q, QUARTERS),
        ("1 раз в квартал", (), (), Q, QUARTERS),
        # yearly without months
        ("Раз в год", (), (), Y, ()),
        ("1 раз в год", (), (), Y, ()),
        ("1 раз в год, декабрь", (12,), (), Y, ((12, 12),)),
        # continuous
        ("В течение года", (), (), C, ()),
        ("в течение года", (), (), C, ()),
        ("В течение учебного года", (), (), C, ()),
        ("Постоянно", (), (), C, ()),
        ("в течение 2023 года", (), (2023,), C, ()),
        # on demand, understood
        ("По мере необходимости", (), (), D, ()),
        ("По запросу", (), (), D, ()),
        ("По плану отдела образования", (), (), D, ()),
        ("в соответствии и с планом-графиком курсовой подготовки ХК ИРО", (), (), D, ()),
        # any case, grammatical form and abbreviation of a month
        ("ЯНВАРЬ", (1,), (), Y, ((1, 1),)),
        ("в январе", (1,), (), Y, ((1, 1),)),
        ("янв.", (1,), (), Y, ((1, 1),)),
        ("сент. – окт.", (9, 10), (), Y, ((9, 10),)),
        ("май", (5,), (), Y, ((5, 5),)),
        ("в мае", (5,), (), Y, ((5, 5),)),
        ("с мая по июль", (5, 6, 7), (), Y, ((5, 7),)),
        ("до февраля", (2,), (), Y, ((2, 2),)),
        ("до 15 января", (1,), (), Y, ((1, 1),)),
        ("25 декабря 2023 г.", (12,), (2023,), ONCE, ((12, 12),)),
        ("<p>Март</p> <p>июнь</p>", (3, 6), (), Y, ((3, 3), (6, 6))),
    ],
)
def test_understood_phrases(
    phrase: str,
    months: tuple[int, ...],
    years: tuple[int, ...],
    recurrence: Recurrence,
    windows: tuple[tuple[int, int], ...],
) -> None:
    schedule, ok = parse_schedule(phrase)
    assert ok, phrase
    assert schedule.months == months
    assert schedule.years == years
    assert schedule.recurrence is recurrence
    assert schedule.windows == windows


def test_text_is_the_phrase_as_written() -> None:
    schedule, ok = parse_schedule("  <p>Ежегодно</p>\n  Декабрь-январь ")
    assert ok
    assert schedule.text == "Ежегодно Декабрь-январь"
    assert schedule.months == (12, 1)


@pytest.mark.parametrize(
    "phrase",
    [
        "когда-нибудь",
        "по итогам",
        "по итогам года",
        "после утверждения",
        "15-20 марта",
        "ежемесячно",
    ],
)
def test_unreadable_phrase_keeps_text_and_is_on_demand(phrase: str) -> None:
    schedule, ok = parse_schedule(phrase)
    assert not ok
    assert schedule.text == phrase
    assert schedule.recurrence is Recurrence.ON_DEMAND
    assert schedule.months == ()
    assert schedule.windows == ()


def test_empty_phrase_is_not_understood() -> None:
    schedule, ok = parse_schedule("  ")
    assert not ok
    assert schedule == Schedule((), (), Recurrence.ON_DEMAND, "", ())


def test_months_have_no_duplicates_and_keep_written_order() -> None:
    schedule, _ = parse_schedule("октябрь, март, октябрь")
    assert schedule.months == (10, 3)
    assert schedule.windows == ((10, 10), (3, 3))


def test_to_json_has_exactly_the_documented_keys() -> None:
    schedule, _ = parse_schedule("Ежегодно Декабрь-январь")
    assert schedule.to_json() == {
        "months": [12, 1],
        "years": [],
        "recurrence": "yearly",
        "text": "Ежегодно Декабрь-январь",
    }
    assert schedule.to_storage() == {**schedule.to_json(), "windows": [[12, 1]]}


@pytest.mark.parametrize(
    "phrase",
    [
        "Ежегодно Декабрь-январь",
        "Март июнь октябрь",
        "ежеквартально",
        "апрель 2023, 2024",
        "2023 – 2024 гг.",
        "По запросу",
        "когда-нибудь",
    ],
)
def test_storage_round_trip(phrase: str) -> None:
    schedule, _ = parse_schedule(phrase)
    assert Schedule.from_json(schedule.to_storage()) == schedule


@pytest.mark.parametrize(
    "phrase", ["Ежегодно Декабрь-январь", "Март июнь октябрь", "ежеквартально", "с января по март"]
)
def test_from_json_without_windows_works_them_out(phrase: str) -> None:
    schedule, _ = parse_schedule(phrase)
    assert Schedule.from_json(schedule.to_json()) == schedule


def test_from_json_without_windows_and_other_text_uses_one_window_per_month() -> None:
    data = {"months": [3, 4], "years": [], "recurrence": "yearly", "text": "весной"}
    assert Schedule.from_json(data).windows == ((3, 3), (4, 4))


@pytest.mark.parametrize(
    "data",
    [
        {"months": [1], "years": [], "recurrence": "yearly"},
        {"months": [13], "years": [], "recurrence": "yearly", "text": ""},
        {"months": "1", "years": [], "recurrence": "yearly", "text": ""},
        {"months": [1], "years": [], "recurrence": "sometimes", "text": ""},
        {"months": [1], "years": [], "recurrence": "yearly", "text": "", "windows": [[1]]},
        {"months": [1], "years": [], "recurrence": "yearly", "text": "", "windows": [[0, 1]]},
    ],
)
def test_from_json_rejects_malformed_data(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"schedule|recurrence"):
        Schedule.from_json(data)


# --- issue 11: recurrence words win; quarters, half-years and full dates ---------------------

H = Recurrence.HALF_YEARLY
HALVES = ((1, 6), (7, 12))


@pytest.mark.parametrize(
    ("phrase", "months", "years", "recurrence", "windows", "first_year"),
    [
        # "ежегодно" / "каждый год" anywhere: yearly, one year written is the first year
        ("Ежегодно (Апрель-май, 2021 г.)", (4, 5), (), Y, ((4, 5),), 2021),
        ("Апрель-май (2021 г.), ежегодно", (4, 5), (), Y, ((4, 5),), 2021),
        ("каждый год, март", (3,), (), Y, ((3, 3),), None),
        ("Ежегодно, начиная с 2021 г.", (), (), Y, (), 2021),
        ("ежегодно 2023-2024", (), (2023, 2024), Y, (), None),
        # "ежеквартально" / "раз в полугодие" win over months and years beside them
        ("Ежеквартально (2023 г.)", (), (2023,), Q, QUARTERS, None),
        ("В течение года, ежеквартально", (), (), Q, QUARTERS, None),
        ("1 раз в полугодие", (), (), H, HALVES, None),
        ("ежеполугодно", (), (), H, HALVES, None),
        # quarters and half-years
        ("IV квартал", (10, 11, 12), (), Y, ((10, 12),), None),
        ("I квартал 2024 г.", (1, 2, 3), (2024,), ONCE, ((1, 3),), None),
        ("2-й квартал", (4, 5, 6), (), Y, ((4, 6),), None),
        ("III кв.", (7, 8, 9), (), Y, ((7, 9),), None),
        ("I полугодие 2024", (1, 2, 3, 4, 5, 6), (2024,), ONCE, ((1, 6),), None),
        ("II полугодие", (7, 8, 9, 10, 11, 12), (), Y, ((7, 12),), None),
        # full dates: their month (and year)
        ("до 15.03.2024", (3,), (2024,), ONCE, ((3, 3),), None),
        ("не позднее 20.12.2024", (12,), (2024,), ONCE, ((12, 12),), None),
        ("с 01.02.2024 по 30.04.2024", (2, 3, 4), (2024,), ONCE, ((2, 4),), None),
        ("до 01.09", (9,), (), Y, ((9, 9),), None),
    ],
)
def test_recurrence_words_quarters_and_dates(
    phrase: str,
    months: tuple[int, ...],
    years: tuple[int, ...],
    recurrence: Recurrence,
    windows: tuple[tuple[int, int], ...],
    first_year: int | None,
) -> None:
    schedule, ok = parse_schedule(phrase)
    assert ok, phrase
    assert (schedule.months, schedule.years, schedule.recurrence) == (months, years, recurrence)
    assert schedule.windows == windows
    assert schedule.first_year == first_year


def test_first_year_is_stored_and_read_back() -> None:
    schedule, _ = parse_schedule("Ежегодно (Апрель-май, 2021 г.)")
    assert schedule.to_json()["first_year"] == 2021
    assert Schedule.from_json(schedule.to_storage()) == schedule
    assert Schedule.from_json(schedule.to_json()) == schedule
    assert "first_year" not in parse_schedule("Ежегодно Декабрь-январь")[0].to_json()
    half, _ = parse_schedule("1 раз в полугодие")
    assert Schedule.from_json(half.to_json()).windows == HALVES
