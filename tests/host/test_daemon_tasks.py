"""Plugin tasks in a real daemon: the test image's `plugin_config` schedules `tick` every second
(`* * * * * *`), which saves the time with `save_data`; it fires only while the node runs."""

import json
import time

from host_support import wait_until

from blockvisor_core.protos import blockvisor_pb2 as pb


def test_a_scheduled_task_fires_while_the_node_runs(daemon, sandbox):
    node = daemon.call("CreateNode", pb.CreateNodeRequest(image=str(sandbox.v1), name="ticker"))
    data = sandbox.paths.node_dir(node.id) / "plugin.data"
    daemon.call("StartNode", pb.NodeRef(id_or_name="ticker"))

    saved = json.loads(sandbox.paths.scheduler_state.read_text())
    assert saved == {
        "scheduled_tasks": [
            {
                "node_id": node.id,
                "name": "tick",
                "schedule": "* * * * * *",
                "task": {"PluginFnCall": {"name": "tick", "param": ""}},
            }
        ]
    }
    wait_until(lambda: data.read_text().startswith("tick "), what="the first tick")
    first = data.read_text()
    wait_until(lambda: data.read_text() != first, what="a second tick")

    daemon.call("StopNode", pb.StopNodeRequest(id_or_name="ticker"))
    last = data.read_text()
    time.sleep(1.5)
    assert data.read_text() == last

    daemon.call("DeleteNode", pb.NodeRef(id_or_name="ticker"))
    assert json.loads(sandbox.paths.scheduler_state.read_text()) == {"scheduled_tasks": []}
