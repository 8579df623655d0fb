"""Budgets: parsing and scaling the plan."""

import pytest

from gen3d.diagnostics.plan import Plan, parse_budget, scale_plan
from gen3d.errors import UserInputError


def test_parse_budget():
    assert parse_budget("auto") == ("auto", None)
    assert parse_budget("20000") == ("nfe", 20000.0)
    assert parse_budget("5min") == ("minutes", 5.0) == parse_budget("5m")
    for bad in ("0", "-3", "fast", "5 hours"):
        with pytest.raises(UserInputError):
            parse_budget(bad)


def test_scaled_plan_costs_what_the_budget_allows():
    plan = Plan()
    what = ("info", "commitment", "collapse", "likelihood")
    full = sum(plan.cost(what, 0, "uturn", 35).values())
    half = scale_plan(plan, 0.5)
    assert sum(half.cost(what, 0, "uturn", 35).values()) == pytest.approx(full / 2, rel=0.05)
    assert scale_plan(plan, 1e-6).like_shapes == 2 and scale_plan(plan, 1e-6).info_shapes == 4
