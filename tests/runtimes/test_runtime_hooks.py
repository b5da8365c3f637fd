"""The built-in runtimes behind the host hooks, and the `process` runtime's life."""

from pathlib import Path

import pytest
from runtime_support import node_spec

from blockvisor_core.agent.node_ops import run_sh
from blockvisor_core.plugins import plugin_manager
from blockvisor_core.runtime import RuntimeStatus
from blockvisor_plugins.runtimes.process import ProcessRuntime


def test_the_three_built_ins_in_order_of_preference():
    runtimes = [runtime for found in plugin_manager().hook.node_runtimes() for runtime in found]
    assert [runtime.name for runtime in runtimes][:3] == ["apptainer", "bwrap", "process"]
    assert next(runtime for runtime in runtimes if runtime.name == "process").available()


def test_node_access_is_answered_by_the_runtime_that_owns_the_name(tmp_path):
    hook = plugin_manager().hook.runtime_node_access
    access = hook(runtime="process", node_dir=tmp_path)
    assert access.cwd == str(tmp_path.resolve()) and access.exec_prefix == ()
    assert hook(runtime="no-such-runtime", node_dir=tmp_path) is None
    # The isolating runtimes answer from what they recorded when the node was created.
    for name in ("bwrap", "apptainer"):
        with pytest.raises(RuntimeError, match=f"no {name} node here"):
            hook(runtime=name, node_dir=tmp_path)


def test_the_process_runtime_life(tmp_path):
    runtime = ProcessRuntime()
    node = node_spec(tmp_path, None)
    assert runtime.status(node) is RuntimeStatus.STOPPED
    runtime.create(node)
    assert node.data_dir.is_dir()
    assert runtime.status(node) is RuntimeStatus.STOPPED
    runtime.start(node)
    assert runtime.status(node) is RuntimeStatus.RUNNING
    # No isolation: the node's commands run on the host, in the node's folder.
    result = run_sh(runtime.node_access(node.node_dir), "pwd", 10)
    assert Path(result.stdout.strip()) == node.node_dir.resolve()
    runtime.stop(node, force=True)
    assert runtime.status(node) is RuntimeStatus.STOPPED
    runtime.delete(node)
    assert not (node.node_dir / "runtime").exists()
    assert runtime.status(node) is RuntimeStatus.STOPPED
