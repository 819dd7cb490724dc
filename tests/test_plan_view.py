"""What a plan's view offers, as plain data (:class:`bot.services.plans.PlanView`): the items
/log offers to mark done."""

from __future__ import annotations

from datetime import date

from bot.services.plans import PlanView
from storage.repo.plans import PlanLine

TODAY = date(2027, 5, 12)


def line(item_id: int, status: str, due_on: date | None) -> PlanLine:
    done_on = date(2027, 3, 2) if status == "done" else None
    return PlanLine(item_id, f"Пункт {item_id}", status, None, due_on, done_on, None)


def test_log_offers_every_item_not_done_in_the_plans_order() -> None:
    items = [
        line(1, "done", date(2027, 3, 31)),
        line(2, "planned", date(2027, 4, 30)),  # overdue on TODAY
        line(3, "planned", date(2027, 6, 30)),
        line(4, "done", date(2027, 6, 30)),
        line(5, "planned", None),
    ]
    view = PlanView(2027, items, TODAY)
    assert [i.id for i in view.loggable()] == [2, 3, 5]
    assert view.done == 2 and view.overdue == 1


def test_a_plan_all_done_offers_nothing() -> None:
    view = PlanView(2027, [line(1, "done", None)], TODAY)
    assert view.loggable() == []
    assert PlanView(2027, [], TODAY).loggable() == []
