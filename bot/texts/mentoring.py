"""Mentoring, in Russian: officers assign mentors (/assign); consultations are logged and
confirmed by the other side (/consult, the daily digest of unanswered ones); the mentor's view of
the mentees (/mentees, confirming and commenting items, the weekly digest); officers' /pairs.
A chapter of :mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

from datetime import date

from bot.texts.common import (
    CARD_HISTORY_BUDGET,
    MESSAGE_LIMIT,
    NAME_SHOWN,
    cut,
    esc,
    fit_first,
    fit_last,
    fmt_date,
)

# --- mentoring: assignments (officers) ------------------------------------------------------
PICK_RESERVIST = (
    "Выберите резервиста. Чтобы найти, напишите часть фамилии, названия школы или муниципалитета."
)
PICK_MENTOR = (
    "Выберите наставника. Чтобы найти, напишите часть фамилии, названия школы или муниципалитета."
)
NOBODY_FOUND = "Никого не нашлось. Напишите другой запрос или отправьте /cancel."
NO_RESERVISTS = "В боте пока нет резервистов. Пригласите их: /invite reservist"
NO_MENTORS = "В боте пока нет наставников. Пригласите их: /invite mentor"
ALREADY_ASSIGNED = "Этот наставник уже закреплён за резервистом."
NO_ACTIVE_MENTOR = "У резервиста нет действующего наставника."
BTN_ASSIGN = "Назначить наставника"
BTN_REASSIGN = "Сменить наставника"
BTN_END = "Завершить наставничество"


def people_page(title: str, query: str | None, total: int, page: int, pages: int) -> str:
    """Header of a searchable list of people."""
    found = f"Поиск: «{esc(cut(query, NAME_SHOWN))}». " if query else ""
    return f"{title}\n\n{found}Найдено: {total}. Страница {page} из {pages}."


def person_label(name: str | None, organisation: str | None) -> str:
    """A person in a button: name and school."""
    return f"{name or '—'} — {organisation}" if organisation else (name or "—")


def reservist_card(
    name: str, organisation: str | None, municipality: str | None, mentor: str | None,
    history: list[str],
) -> str:  # fmt: skip
    """An officer's card of a reservist with the mentor and the history of assignments."""
    lines = [
        f"<b>{esc(name)}</b>",
        esc(", ".join(filter(None, (organisation, municipality))) or "—"),
        f"Наставник: {esc(mentor) if mentor else 'не назначен'}",
    ]
    if history:
        lines += ["", "<i>История наставничества</i>", *fit_last(history, CARD_HISTORY_BUDGET)]
    return "\n".join(lines)


def assignment_line(mentor: str, since: str, until: str | None) -> str:
    """One past or current assignment."""
    return f"{esc(mentor)}: с {since}" + (f" по {until}" if until else " (действует)")


def assigned_officer(reservist: str, mentor: str) -> str:
    """The officer's confirmation."""
    return f"Наставник <b>{esc(mentor)}</b> закреплён за резервистом <b>{esc(reservist)}</b>."


def assigned_reservist(mentor: str, organisation: str | None) -> str:
    """The reservist is told who their mentor is."""
    org = f" ({esc(organisation)})" if organisation else ""
    return (
        f"Вам назначен наставник: <b>{esc(mentor)}</b>{org}.\n"
        "Записывайте консультации командой /consult — наставник их подтвердит."
    )


def assigned_mentor(reservist: str, organisation: str | None) -> str:
    """The mentor is told about a new mentee."""
    org = f" ({esc(organisation)})" if organisation else ""
    return (
        f"Вы назначены наставником резервиста <b>{esc(reservist)}</b>{org}.\n"
        "Ваши подопечные и их планы — /mentees."
    )


def assignment_ended(other: str) -> str:
    """Either side is told that the assignment ended."""
    return f"Наставничество в паре с {esc(other)} завершено отделом образования."


def ended_officer(reservist: str, mentor: str) -> str:
    """The officer's confirmation of an ended assignment."""
    return f"Наставничество {esc(mentor)} над резервистом {esc(reservist)} завершено."


# --- mentoring: consultations ---------------------------------------------------------------
FORMAT_NAMES = {"in_person": "очно", "online": "онлайн", "phone": "по телефону"}
CONSULT_NO_MENTOR = "Вам ещё не назначен наставник. Его закрепляет отдел образования."
CONSULT_NO_MENTEES = "За вами пока не закреплены резервисты."
CONSULT_PICK_MENTEE = "С кем была консультация?"
CONSULT_ASK_DATE = "Когда прошла консультация? Нажмите «Сегодня» или напишите дату ДД.ММ.ГГГГ."
CONSULT_ASK_FORMAT = "В каком формате?"
CONSULT_ASK_TOPIC = "Тема консультации?"
CONSULT_ASK_MINUTES = "Сколько минут она длилась? Напишите число от 5 до 480."
CONSULT_ASK_NOTE = "Заметка (договорённости, задания) — или нажмите «Пропустить»."
CONSULT_ASK_ITEM = "Связать консультацию с пунктом индивидуального плана?"
BTN_NO_ITEM = "Без привязки к плану"
BAD_MINUTES = "Укажите длительность в минутах — целое число от 5 до 480."
BAD_FORMAT = "Выберите формат кнопкой."
BAD_BUTTON_EXPECTED = "Выберите вариант кнопкой ниже или отправьте /cancel."
BTN_CONFIRM = "Подтвердить"
BTN_DECLINE = "Отклонить"
ALREADY_DECIDED = "По этой консультации уже принято решение."
DECLINE_ASK_REASON = "Почему отклоняете? Коротко напишите причину — её увидит другая сторона."
CONSULT_CONFIRMED_OK = "Консультация подтверждена. Спасибо!"
CONSULT_DECLINED_OK = "Консультация отклонена, причина передана."


def consult_summary(
    held_on: date, fmt: str, topic: str, minutes: int, note: str | None, item: str | None
) -> str:
    """The facts of a consultation."""
    lines = [
        f"Дата: {fmt_date(held_on)}, {FORMAT_NAMES.get(fmt, fmt)}, {minutes} мин.",
        f"Тема: {esc(topic)}",
    ]
    if note:
        lines.append(f"Заметка: {esc(note)}")
    if item:
        lines.append(f"Пункт плана: {esc(item)}")
    return "\n".join(lines)


def consult_logged(other: str) -> str:
    """The logger is told the consultation awaits confirmation."""
    return (
        f"Консультация записана и отправлена на подтверждение: {esc(other)}. "
        "В отчётах она учитывается после подтверждения."
    )


def consult_request(who: str, summary: str) -> str:
    """The other side is asked to confirm."""
    return f"🤝 {esc(who)} записал(а) консультацию с вами:\n{summary}\n\nПодтвердите, пожалуйста."


def consult_confirmed(who: str, summary: str) -> str:
    """The logger is told it was confirmed."""
    return f"✅ {esc(who)} подтвердил(а) консультацию:\n{summary}"


def consult_declined(who: str, summary: str, reason: str) -> str:
    """The logger is told it was declined and why."""
    return f"❌ {esc(who)} отклонил(а) консультацию:\n{summary}\nПричина: {esc(reason)}"


def confirm_digest(count: int) -> str:
    """The daily digest of unanswered confirmations."""
    return (
        f"🔔 Ждут вашего подтверждения консультации: {count}. "
        "Подтвердите или отклоните их кнопками ниже."
    )


def digest_line(who: str, held_on: date, topic: str) -> str:
    """One consultation in a digest button."""
    return f"{fmt_date(held_on)} · {who} · {topic}"


# --- mentoring: the mentor's view ------------------------------------------------------------
MENTEES_EMPTY = "За вами пока не закреплены резервисты."
STALLED_MARK = "⏸ нет активности 30 дней"


def mentees_header(count: int) -> str:
    """Title of /mentees."""
    return f"<b>Ваши подопечные: {count}</b>"


def mentee_line(
    name: str, done: int, total: int, confirmed: int, overdue: int, consultations: int,
    last: str | None, stalled: bool,
) -> str:  # fmt: skip
    """One mentee in /mentees."""
    who = esc(cut(name, NAME_SHOWN))
    parts = [f"<b>{who}</b>: выполнено {done} из {total}, подтверждено {confirmed}"]
    if overdue:
        parts.append(f"просрочено {overdue}")
    parts.append(f"консультаций в этом году: {consultations}")
    parts.append(f"последняя активность: {last or '—'}")
    line = ", ".join(parts)
    return f"{line}\n{STALLED_MARK}" if stalled else line


def mentee_plan_header(name: str, year: int, done: int, total: int, confirmed: int) -> str:
    """Title of a mentee's plan seen by the mentor."""
    return (
        f"<b>План резервиста {esc(name)} на {year} год</b>\n"
        f"Выполнено {done} из {total}, подтверждено наставником: {confirmed}"
    )


BTN_CONFIRM_ITEM = "Подтвердить выполнение"
BTN_COMMENT = "Комментарий / рекомендация"
BTN_EVIDENCE = "Показать подтверждающий файл"
BTN_TO_MENTEE = "« К плану подопечного"
ITEM_CONFIRMED_OK = "Выполнение подтверждено."
ITEM_ALREADY_CONFIRMED = "Этот пункт уже подтверждён."
ITEM_NOT_CONFIRMABLE = (
    "Подтверждают пункты, отмеченные выполненными, которые по дорожной карте требуют "
    "подтверждения или к которым приложен файл."
)
COMMENT_ASK = "Напишите комментарий или рекомендацию — резервист получит его текст."
COMMENT_SAVED = "Комментарий отправлен резервисту."
NO_EVIDENCE = "К этому пункту не приложен файл."


def item_confirmed(title: str, mentor: str) -> str:
    """The reservist is told the mentor confirmed an item."""
    return f"🏅 Наставник {esc(mentor)} подтвердил выполнение: <b>{esc(title)}</b>."


def item_commented(title: str, mentor: str, text: str) -> str:
    """The reservist gets the mentor's comment."""
    return f"💬 Наставник {esc(mentor)} о пункте «{esc(title)}»:\n{esc(text)}"


def comment_line(author: str, at: str, text: str) -> str:
    """A comment in an item card."""
    return f"💬 {esc(author)}, {esc(at)}: {esc(text)}"


def confirmed_line(at: str) -> str:
    """The confirmation line of an item card."""
    return f"🏅 Подтверждено наставником {esc(at)}"


def mentor_weekly(lines: list[str]) -> str:
    """The mentors' weekly digest."""
    return "<b>Подопечные, которым нужно внимание</b>\n" + "\n".join(
        fit_first(lines, MESSAGE_LIMIT - 100)
    )


def weekly_line(name: str, overdue: int, stalled: bool) -> str:
    """One mentee in the weekly digest."""
    reasons = []
    if overdue:
        reasons.append(f"просрочено пунктов: {overdue}")
    if stalled:
        reasons.append("нет активности 30 дней")
    return f"• {esc(cut(name, NAME_SHOWN))}: " + ", ".join(reasons)


# --- mentoring: officers' report ----------------------------------------------------------
PAIRS_EMPTY = "Пока нет закреплённых пар «резервист – наставник». Назначить — /assign."


def pairs_header(count: int, confirmed: int, stalled: int) -> str:
    """Title of /pairs."""
    return (
        f"<b>Пары «резервист – наставник»: {count}</b>\n"
        f"Подтверждённых консультаций в этом году: {confirmed}. Без активности 30 дней: {stalled}."
    )


def pair_line(
    reservist: str, mentor: str, confirmed: int, pending: int, done: int, total: int,
    stalled: bool,
) -> str:  # fmt: skip
    """One pair in /pairs."""
    line = (
        f"{esc(cut(reservist, NAME_SHOWN))} ← {esc(cut(mentor, NAME_SHOWN))}: "
        f"консультаций подтверждено {confirmed}"
        + (f", ждут подтверждения {pending}" if pending else "")
        + f"; план: {done} из {total}"
    )
    return f"{line} {STALLED_MARK}" if stalled else line
