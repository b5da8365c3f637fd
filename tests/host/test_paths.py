"""Host paths: one root for everything, chosen by BV_ROOT, the user, or `/`."""

from pathlib import Path

import platformdirs
import pytest

from blockvisor_core.paths import Paths


def test_every_path_is_under_the_root(tmp_path):
    paths = Paths(tmp_path)
    var = tmp_path / "var/lib/blockvisor"
    assert paths.config == tmp_path / "etc/blockvisor.json"
    assert paths.var == var
    assert paths.nodes == var / "nodes"
    assert paths.node_dir("4b2a") == var / "nodes/4b2a"
    assert paths.scheduler_state == var / "nodes/state.json"
    assert paths.socket == var / "blockvisor.socket"
    assert paths.secrets == var / "secrets"
    assert paths.images == var / "images"
    assert paths.logs == tmp_path / "var/log/blockvisor"


@pytest.mark.parametrize("node_id", ["", ".", "..", "../etc", "a/b", "a\0b"])
def test_a_node_id_cannot_leave_the_nodes_folder(tmp_path, node_id):
    with pytest.raises(ValueError, match="invalid node id"):
        Paths(tmp_path).node_dir(node_id)


def test_bv_root_selects_the_root(monkeypatch, tmp_path):
    monkeypatch.setenv("BV_ROOT", str(tmp_path))
    assert Paths.from_env().config == tmp_path / "etc/blockvisor.json"


def test_a_relative_bv_root_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BV_ROOT", "sandbox")
    assert Paths.from_env().root == tmp_path / "sandbox"


def test_without_bv_root_the_superuser_gets_the_system_root(monkeypatch):
    monkeypatch.delenv("BV_ROOT", raising=False)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert Paths.from_env().root == Path("/")


@pytest.mark.parametrize("value", [None, ""])
def test_without_bv_root_a_user_gets_a_per_user_root(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("BV_ROOT", raising=False)
    else:
        monkeypatch.setenv("BV_ROOT", value)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert Paths.from_env().root == platformdirs.user_data_path("blockvisor")
    assert Paths.from_env().root != Path("/")
