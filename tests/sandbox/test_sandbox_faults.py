"""The fault schedule: its file formats, the default schedule, and when transitions fire."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storelink.errors import UsageError
from storelink.sandbox.faults import (
    FaultCursor,
    FaultSchedule,
    HubRestart,
    LinkDown,
    OdooDown,
    PartnerFailing,
    PriceChange,
    StockCount,
    default_schedule,
    load_schedule,
    parse_schedule,
)

TOML = """
[[fault]]
kind = "link_down"
store = "S002"
start = 0.1
end = 0.3

[[fault]]
kind = "hub_restart"
at = 0.5

[[fault]]
kind = "price_change"
at = 0.2
percent = -15
"""


def test_toml_and_json_files_give_the_same_schedule(tmp_path: Path) -> None:
    toml_file = tmp_path / "f.toml"
    toml_file.write_text(TOML)
    from_toml = load_schedule(str(toml_file), ["S001", "S002"], seed=1)
    json_file = tmp_path / "f.json"
    json_file.write_text(json.dumps({"fault": [f.model_dump() for f in from_toml.faults]}))
    assert load_schedule(str(json_file), ["S001", "S002"], seed=1) == from_toml
    assert from_toml.faults == (
        LinkDown(store="S002", start=0.1, end=0.3),
        HubRestart(at=0.5),
        PriceChange(at=0.2, percent=-15),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[[fault]]\nkind = "odoo_down"\nstart = 0.5\nend = 0.2',
            "fault[0]: Value error, end must",
        ),
        ('[[fault]]\nkind = "meteor"\nat = 0.1', "fault[0]: Input tag 'meteor'"),
        ('[[fault]]\nkind = "hub_restart"\nat = 1.5', "fault[0].at: Input should be"),
        ('[[fault]]\nkind = "hub_restart"\nat = 0.1\nwhen = 3', "fault[0].when: Extra"),
    ],
)
def test_bad_schedules_name_the_fault(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_schedule(text, format="toml")
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems


def test_not_toml_and_unknown_spec() -> None:
    with pytest.raises(UsageError, match="not valid TOML"):
        parse_schedule("[[fault", format="toml")
    with pytest.raises(UsageError, match="neither default, chaos, none"):
        load_schedule("/nonexistent/faults.toml", ["S001"], seed=1)
    assert load_schedule("none", ["S001"], seed=1) == FaultSchedule(())


def test_schedule_must_fit_the_estate() -> None:
    schedule = parse_schedule(TOML, format="toml")
    schedule.check_against(["S001", "S002"], ["flaky"])
    with pytest.raises(UsageError) as caught:
        schedule.check_against(["S001"], ["flaky"])
    assert caught.value.problems == ["fault[0]: no store 'S002' in this estate"]


def test_default_schedule_has_every_fault_and_is_reproducible() -> None:
    stores = [f"S{n:03d}" for n in range(1, 11)]
    schedule = default_schedule(stores, seed=42)
    assert schedule == default_schedule(stores, seed=42)
    kinds = {type(f) for f in schedule.faults}
    assert kinds == {LinkDown, OdooDown, PartnerFailing, HubRestart, PriceChange, StockCount}
    drops = [f for f in schedule.faults if isinstance(f, LinkDown)]
    assert len(drops) == 3
    # the price change and the stock count happen while the first dropped store is offline
    (count,) = [f for f in schedule.faults if isinstance(f, StockCount)]
    assert count.store == drops[0].store and drops[0].start < count.at < drops[0].end
    schedule.check_against(stores, ["flaky"])


def test_cursor_hands_out_each_transition_once_in_order() -> None:
    schedule = parse_schedule(TOML, format="toml")
    cursor = FaultCursor(schedule)
    assert cursor.due(0.05) == []
    first = cursor.due(0.25)
    assert [(t.at, type(t.fault).__name__, t.begins) for t in first] == [
        (0.1, "LinkDown", True),
        (0.2, "PriceChange", True),
    ]
    assert cursor.due(0.25) == []
    closing = cursor.closing()
    assert [(t.at, t.begins) for t in closing] == [(0.3, False)]
    assert cursor.due(1.0) == []  # the restart never fires once the run has ended


CHAOS_TOML = """
[[fault]]
kind = "kill_worker"
at = 0.3
worker = 1

[[fault]]
kind = "kill_agent"
at = 0.4

[[fault]]
kind = "odoo_partition"
start = 0.5
end = 0.6

[[fault]]
kind = "bus_restart"
at = 0.7
pause = 0.5
"""


def test_process_faults_parse_and_need_scale_out() -> None:
    schedule = parse_schedule(CHAOS_TOML, format="toml")
    assert [f.kind for f in schedule.faults] == [
        "kill_worker",
        "kill_agent",
        "odoo_partition",
        "bus_restart",
    ]
    assert schedule.kills == 3  # the partition is a window, not a kill
    schedule.check_against(["S001"], ["flaky"], hub_workers=2)
    with pytest.raises(UsageError) as one_process:
        schedule.check_against(["S001"], ["flaky"])
    assert one_process.value.problems == [
        f"fault[{n}]: {kind} needs --scale-out (processes to kill)"
        for n, kind in enumerate(["kill_worker", "kill_agent", "odoo_partition", "bus_restart"])
    ]
    with pytest.raises(UsageError) as too_few:
        schedule.check_against(["S001"], ["flaky"], hub_workers=1)
    assert too_few.value.problems == ["fault[0]: no hub worker 1 (have 1)"]


def test_chaos_schedule_is_the_default_plus_thirty_kills_spread_over_the_run() -> None:
    stores = [f"S{n:03d}" for n in range(1, 21)]
    schedule = load_schedule("chaos", stores, seed=3)
    assert schedule == load_schedule("chaos", stores, seed=3)
    assert set(default_schedule(stores, 3).faults) <= set(schedule.faults)
    assert schedule.kills >= 30
    kinds = {f.kind for f in schedule.faults}
    assert {"kill_worker", "kill_agent", "odoo_partition", "bus_restart"} <= kinds
    moments = sorted(
        f.at for f in schedule.faults if f.kind in ("kill_worker", "kill_agent", "bus_restart")
    )
    assert moments[0] < 0.1 and moments[-1] > 0.85  # over the whole trading, not in a burst
    schedule.check_against(stores, ["flaky"], hub_workers=3)
