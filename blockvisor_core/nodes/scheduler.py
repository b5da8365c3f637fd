"""The scheduler of plugin tasks (spec §7): plugin functions called on a cron schedule while a node runs.

A plugin registers a task with `add_task(name, schedule, function, param)` (the default init does so for
every `scheduled` entry of its `plugin_config`). Schedules have the original's cron syntax: seconds
first, 6 or 7 fields (`sec min hour day-of-month month day-of-week [year]`), with day-of-week numbers
1 = Sunday to 7 = Saturday, and both day fields must match. Times are local.

Tasks are kept per node and name (unlike the original, a task of one node never replaces another
node's), and persisted atomically on every change to `Paths.scheduler_state` in the original's shape,
so a daemon killed at any moment knows every task when it starts again.

A task slot that passed while the daemon was busy runs once when the scheduler gets to it; slots missed
several times over are run once, not once each, so a task slower than its period never builds a backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
from croniter import croniter
from loguru import logger

from blockvisor_core.files import write_atomic

#: Longest sleep between two looks at the task list, so that a changed clock is noticed.
MAX_SLEEP_SECS = 60.0


@attrs.frozen(kw_only=True)
class Task:
    """A plugin function `function` called with `param` on `schedule`, for the node `node_id`."""

    node_id: str
    name: str
    schedule: str
    function: str
    param: str = ""

    def to_json(self) -> dict:
        """The original's `Scheduled` shape: the call is a tagged `PluginFnCall`."""
        call = {"name": self.function, "param": self.param}
        return {
            "node_id": self.node_id,
            "name": self.name,
            "schedule": self.schedule,
            "task": {"PluginFnCall": call},
        }

    @classmethod
    def from_json(cls, value: dict) -> Task:
        call = value["task"]["PluginFnCall"]
        return cls(
            node_id=value["node_id"],
            name=value["name"],
            schedule=value["schedule"],
            function=call["name"],
            param=call.get("param") or "",
        )


def cron_expression(schedule: str) -> str:
    """The croniter expression of a schedule in the original's syntax; `ValueError` names the problem."""
    fields = schedule.split()
    if len(fields) not in (6, 7):
        raise ValueError(
            f"invalid cron schedule {schedule!r}: expected 6 or 7 fields "
            f"(sec min hour day-of-month month day-of-week [year]), got {len(fields)}"
        )
    fields[5] = _day_of_week(fields[5], schedule)
    expression = " ".join(fields)
    try:
        croniter(expression, second_at_beginning=True, day_or=False)
    except (ValueError, KeyError):
        # croniter's own message shows the fields reordered, which would only confuse.
        raise ValueError(
            f"invalid cron schedule {schedule!r}: not valid cron syntax "
            "(sec min hour day-of-month month day-of-week [year])"
        ) from None
    return expression


def _day_of_week(field: str, schedule: str) -> str:
    """Day-of-week numbers of the original's cron (1 = Sunday ... 7 = Saturday) as croniter's (0 ... 6).

    Only the values before a `/` step or a `#` nth are days; names (`Mon`) are left as they are."""

    def shifted(part: str) -> str:
        days, rest = re.fullmatch(r"([^/#]*)(.*)", part).groups()
        for number in re.findall(r"\d+", days):
            if not 1 <= int(number) <= 7:
                raise ValueError(
                    f"invalid cron schedule {schedule!r}: "
                    f"day of week {number} is not 1 (Sunday) to 7 (Saturday)"
                )
        return re.sub(r"\d+", lambda match: str(int(match.group()) - 1), days) + rest

    return ",".join(shifted(part) for part in field.split(","))


@attrs.define
class _Entry:
    task: Task
    expression: str
    after: datetime.datetime


class Scheduler:
    """Every node's tasks, persisted in `state_file`; `run` fires them, calling `fire(task)` for each.

    `add`, `delete` and `delete_node` may be called from any thread (a plugin adds tasks from the worker
    thread that runs its `init`); `run` is the asyncio loop that fires them.
    """

    def __init__(self, state_file: Path, fire: Callable[[Task], Awaitable[None]]) -> None:
        self.state_file = state_file
        self._fire = fire
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def load(self) -> None:
        """Read the persisted tasks; a task whose schedule no longer parses is dropped with a warning. A file
        that is not the scheduler's JSON is set aside (renamed `*.bad`), so the daemon starts without it."""
        try:
            saved = json.loads(self.state_file.read_text())["scheduled_tasks"]
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as error:
            aside = self.state_file.with_name(self.state_file.name + ".bad")
            self.state_file.replace(aside)
            logger.error(
                "scheduled tasks lost: {} is unreadable ({}); it was moved to {}",
                self.state_file,
                error,
                aside,
            )
            return
        now = datetime.datetime.now()
        with self._lock:
            for value in saved:
                try:
                    task = Task.from_json(value)
                    self._entries[(task.node_id, task.name)] = _Entry(
                        task, cron_expression(task.schedule), now
                    )
                except (KeyError, TypeError, ValueError) as error:
                    logger.warning("scheduled task {} dropped from {}: {}", value, self.state_file, error)

    def tasks(self) -> list[Task]:
        with self._lock:
            return [entry.task for entry in self._entries.values()]

    def add(self, task: Task) -> None:
        """Add the task, replacing the node's task of the same name; an invalid schedule raises."""
        entry = _Entry(task, cron_expression(task.schedule), datetime.datetime.now())
        with self._lock:
            self._entries[(task.node_id, task.name)] = entry
            self._save()
        self._wake()

    def delete(self, node_id: str, name: str) -> None:
        with self._lock:
            if self._entries.pop((node_id, name), None) is not None:
                self._save()
        self._wake()

    def delete_node(self, node_id: str) -> None:
        """Forget every task of a deleted node."""
        with self._lock:
            keys = [key for key in self._entries if key[0] == node_id]
            for key in keys:
                del self._entries[key]
            if keys:
                self._save()
        self._wake()

    async def run(self) -> None:
        """Fire due tasks, one after the other, until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        while True:
            self._changed.clear()
            due, sleep = self._due(datetime.datetime.now())
            for task in due:
                await self._fire(task)
            if due:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), sleep)

    def _due(self, now: datetime.datetime) -> tuple[list[Task], float]:
        """The tasks with a slot at or before `now` (each once), and the seconds until the next slot."""
        due = []
        sleep = MAX_SLEEP_SECS
        with self._lock:
            for entry in self._entries.values():
                slots = croniter(entry.expression, entry.after, second_at_beginning=True, day_or=False)
                upcoming = slots.get_next(datetime.datetime)
                if upcoming <= now:
                    due.append(entry.task)
                    entry.after = now
                    upcoming = croniter(
                        entry.expression, now, second_at_beginning=True, day_or=False
                    ).get_next(datetime.datetime)
                sleep = min(sleep, (upcoming - now).total_seconds())
        return due, max(sleep, 0.0)

    def _save(self) -> None:
        tasks = [entry.task.to_json() for entry in self._entries.values()]
        write_atomic(self.state_file, json.dumps({"scheduled_tasks": tasks}, indent=2) + "\n")

    def _wake(self) -> None:
        if self._loop is not None and self._changed is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._changed.set)
