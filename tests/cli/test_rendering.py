"""The plain values of `bv`'s text layouts."""

import pytest

from blockvisor_core.cli import render


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00:00"), (59.9, "00:00:59"), (3661, "01:01:01"), (2 * 86400 + 5, "2d 00:00:05")],
)
def test_duration(seconds, text):
    assert render.duration(seconds) == text


def test_uptime_of_a_node_that_is_not_running():
    assert render.uptime(0, now=1000) == "-"
    assert render.uptime(990, now=1000) == "00:00:10"


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (1500, "1.50 kB"), (2.5e9, "2.50 GB"), (7e15, "7000.00 TB")],
)
def test_size(count, text):
    assert render.size(count) == text


def test_table_columns_fit_their_widest_cell():
    assert render.table(("A", "Long header"), [("wide cell", "x")]) == "A          Long header\nwide cell  x"
