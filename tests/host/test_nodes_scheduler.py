"""The scheduler of plugin tasks: the original's cron syntax, tasks per node persisted atomically,
and firing (once per due slot, never a backlog)."""

import asyncio
import datetime
import json

import pytest

from blockvisor_core.nodes.scheduler import Scheduler, Task, cron_expression


@pytest.mark.parametrize(
    ("schedule", "expression"),
    [
        ("* * * * * *", "* * * * * *"),
        ("*/10 * * * * *", "*/10 * * * * *"),
        ("0 30 9 * * * 2031", "0 30 9 * * * 2031"),
        # Day of week: 1 = Sunday ... 7 = Saturday in the original's cron, 0 ... 6 in croniter's.
        ("0 0 0 * * 2-6", "0 0 0 * * 1-5"),
        ("0 0 0 * * 1,7", "0 0 0 * * 0,6"),
        ("0 0 0 * * 2/2", "0 0 0 * * 1/2"),
        ("0 0 0 * * Mon", "0 0 0 * * Mon"),
    ],
)
def test_schedules_have_the_originals_syntax(schedule, expression):
    assert cron_expression(schedule) == expression


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("* * * * *", "expected 6 or 7 fields (sec min hour day-of-month month day-of-week [year]), got 5"),
        ("0 0 0 * * 0", "day of week 0 is not 1 (Sunday) to 7 (Saturday)"),
        ("61 * * * * *", "not valid cron syntax"),
        ("every second", "got 2"),
    ],
)
def test_an_invalid_schedule_is_refused_naming_it(schedule, problem):
    with pytest.raises(ValueError) as caught:
        cron_expression(schedule)
    assert str(caught.value).startswith(f"invalid cron schedule '{schedule}': ")
    assert problem in str(caught.value)


def task(node: str, name: str, schedule: str = "* * * * * *", param: str = "") -> Task:
    return Task(node_id=node, name=name, schedule=schedule, function=f"fn_{name}", param=param)


async def never(task: Task) -> None:
    raise AssertionError("no task should fire")


def test_tasks_are_per_node_and_persisted_on_every_change(tmp_path):
    state = tmp_path / "nodes" / "state.json"
    scheduler = Scheduler(state, never)
    scheduler.add(task("a", "tick"))
    scheduler.add(task("b", "tick", param="p"))
    scheduler.add(task("a", "tock", "0 0 * * * *"))
    # A task of the same name replaces only the same node's task.
    scheduler.add(task("a", "tick", "*/5 * * * * *"))
    saved = json.loads(state.read_text())["scheduled_tasks"]
    assert [(t["node_id"], t["name"], t["schedule"]) for t in saved] == [
        ("a", "tick", "*/5 * * * * *"),
        ("b", "tick", "* * * * * *"),
        ("a", "tock", "0 0 * * * *"),
    ]
    assert saved[1]["task"] == {"PluginFnCall": {"name": "fn_tick", "param": "p"}}

    scheduler.delete("a", "tick")
    scheduler.delete("a", "unknown")
    reloaded = Scheduler(state, never)
    reloaded.load()
    assert reloaded.tasks() == [task("b", "tick", param="p"), task("a", "tock", "0 0 * * * *")]

    reloaded.delete_node("a")
    assert [t["node_id"] for t in json.loads(state.read_text())["scheduled_tasks"]] == ["b"]


def test_an_invalid_schedule_adds_nothing(tmp_path):
    scheduler = Scheduler(tmp_path / "state.json", never)
    with pytest.raises(ValueError, match="invalid cron schedule"):
        scheduler.add(task("a", "bad", "* * *"))
    assert scheduler.tasks() == []
    assert not (tmp_path / "state.json").exists()


def test_a_saved_task_that_no_longer_parses_is_dropped(tmp_path):
    state = tmp_path / "state.json"
    good = task("a", "good").to_json()
    state.write_text(json.dumps({"scheduled_tasks": [good, {**good, "name": "bad", "schedule": "x"}, {}]}))
    scheduler = Scheduler(state, never)
    scheduler.load()
    assert [t.name for t in scheduler.tasks()] == ["good"]


def test_missed_slots_fire_once(tmp_path):
    scheduler = Scheduler(tmp_path / "state.json", never)
    scheduler.add(task("a", "every_second"))
    scheduler.add(task("a", "hourly", "0 0 * * * *"))
    later = datetime.datetime.now() + datetime.timedelta(seconds=10)
    due, sleep = scheduler._due(later)
    assert [t.name for t in due] == ["every_second"]
    assert 0 < sleep <= 1
    assert scheduler._due(later) == ([], sleep)


def test_tasks_fire_on_time_and_a_new_one_wakes_the_loop(tmp_path):
    fired: list[tuple[str, float]] = []

    async def fire(task: Task) -> None:
        fired.append((task.name, asyncio.get_running_loop().time()))

    async def scenario() -> None:
        scheduler = Scheduler(tmp_path / "state.json", fire)
        scheduler.add(task("a", "hourly", "0 0 * * * *"))
        loop = asyncio.get_running_loop()
        runner = asyncio.create_task(scheduler.run())
        await asyncio.sleep(0.1)
        start = loop.time()
        scheduler.add(task("a", "every_second"))
        while len(fired) < 2 and loop.time() - start < 5:
            await asyncio.sleep(0.05)
        runner.cancel()
        assert [name for name, _ in fired[:2]] == ["every_second", "every_second"]
        assert fired[0][1] - start <= 1.2
        assert 0.8 <= fired[1][1] - fired[0][1] <= 1.2

    asyncio.run(scenario())


def test_an_unreadable_task_file_is_set_aside(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    scheduler = Scheduler(state, never)
    scheduler.load()
    assert scheduler.tasks() == []
    assert (tmp_path / "state.json.bad").read_text() == "{not json"
