"""`bv node ...` against the fake daemon: what each command sends, prints (text and JSON), how it fails."""

import io
import os

import pytest
from cli_support import bv_run
from fake_daemon import ETH_ID, NEAR_ID

from blockvisor_core.protos import blockvisor_pb2 as pb


def test_list_shows_a_table_of_the_nodes(bv, daemon):
    result = bv("node", "list")
    assert result.code == 0
    header, eth, near = result.out.splitlines()
    assert header.split("  ")[0].strip() == "ID"
    assert "Uptime  [h:m:s]" in header
    assert eth.split() == [
        ETH_ID,
        "eth-1",
        "ethereum/reth-mainnet/1.2.0",
        "Running",
        "10.0.0.2",
        "1d",
        "01:01:01",
    ]
    assert near.split() == [NEAR_ID, "near-1", "near/mainnet/0.9.0", "Stopped", "-", "-"]


def test_list_filters_by_status_and_tags(bv, daemon):
    assert [line.split()[1] for line in bv("node", "ls", "-r").out.splitlines()[1:]] == ["eth-1"]
    assert [line.split()[1] for line in bv("n", "ls", "--tag", "test").out.splitlines()[1:]] == ["near-1"]
    both = bv("node", "ls", "--tag", "test", "--tag", "prod").out.splitlines()[1:]
    assert [line.split()[1] for line in both] == ["eth-1", "near-1"]
    assert bv("node", "ls", "--tag", "nothing").out == "No nodes found.\n"


def test_list_as_json(bv, daemon):
    nodes = bv("node", "ls", "--format", "json").json
    assert [node["name"] for node in nodes] == ["eth-1", "near-1"]
    eth, near = nodes
    assert set(eth) == {
        "id", "name", "image", "protocol", "variant", "version", "image_path", "status", "expected_status",
        "ip", "gateway", "started_at", "uptime_secs", "runtime", "properties", "tags", "requirements",
    }  # fmt: skip
    assert eth["status"] == "running"
    assert eth["uptime_secs"] == pytest.approx(90061, abs=5)
    assert eth["requirements"] == {"cpus": 2, "memory_mb": 2048, "disk_gb": 100}
    assert near["ip"] is None
    assert near["started_at"] is None
    daemon.nodes.clear()
    assert bv("node", "ls", "--format", "json").json == []


def test_create_sends_the_image_reference_and_the_options(bv, daemon):
    result = bv(
        "node", "create", "ethereum/reth-mainnet", "--props", '{"network": "sepolia"}',
        "--name", "eth-2", "--tag", "a", "--tag", "b", "--runtime", "bwrap",
    )  # fmt: skip
    assert result.code == 0, result.err
    (request,) = daemon.called("CreateNode")
    assert request.image == "ethereum/reth-mainnet"
    assert dict(request.properties) == {"network": "sepolia"}
    assert (request.name, list(request.tags), request.runtime) == ("eth-2", ["a", "b"], "bwrap")
    created = next(node for node in daemon.nodes.values() if node.name == "eth-2")
    assert result.out == f"Created new node with ID `{created.id}` and name `eth-2`\n"


def test_create_as_json_and_with_defaults(bv, daemon):
    node = bv("node", "c", "ethereum/reth-mainnet/1.3.0", "--format", "json").json
    assert (node["name"], node["version"], node["status"]) == ("generated-name", "1.3.0", "stopped")
    (request,) = daemon.called("CreateNode")
    assert (dict(request.properties), request.name, list(request.tags), request.runtime) == ({}, "", [], "")


def test_create_sends_an_image_folder_as_an_absolute_path(bv, daemon, tmp_path, monkeypatch):
    (tmp_path / "my-image").mkdir()
    monkeypatch.chdir(tmp_path)
    assert bv("node", "create", "my-image").code == 0
    assert daemon.called("CreateNode")[0].image == str(tmp_path / "my-image")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ('{"network": ', "Error: --props is not valid JSON: Expecting value: line 1 column 13 (char 12)"),
        ('["mainnet"]', "Error: --props must be a JSON map of strings, not an array"),
        ("null", "Error: --props must be a JSON map of strings, not null"),
        ('{"port": 8545}', "Error: --props: the value of `port` must be a string, not 8545"),
    ],
)
def test_create_with_bad_props_sends_nothing(bv, daemon, props, message):
    result = bv("node", "create", "ethereum/reth-mainnet", "--props", props)
    assert (result.code, result.out, result.err) == (2, "", f"{message}\n")
    assert daemon.calls == []


def test_create_from_a_missing_image_reports_the_daemons_message(bv, daemon):
    result = bv("node", "create", "solana/mainnet")
    assert (result.code, result.out) == (1, "")
    assert result.err == "Error: image `solana/mainnet` not found in the image folders\n"


@pytest.mark.parametrize(
    "command",
    [
        ["node", "info", "ghost"],
        ["node", "start", "ghost"],
        ["node", "stop", "ghost"],
        ["node", "restart", "ghost"],
        ["node", "status", "ghost"],
        ["node", "caps", "ghost"],
        ["node", "run", "height", "ghost"],
        ["node", "delete", "ghost", "--yes"],
        ["node", "reload-plugin", "ghost"],
        ["node", "shell", "ghost"],
        ["node", "upgrade", "ghost", "--image", "ethereum/reth-mainnet"],
        ["node", "job", "ghost", "ls"],
        ["node", "job", "ghost", "logs"],
    ],
)
def test_an_unknown_node_is_one_line_and_exit_code_1(bv, daemon, command):
    result = bv(*command)
    assert (result.code, result.out, result.err) == (1, "", "Error: Node `ghost` not found\n")


def test_start_and_stop_name_nodes_by_name_or_id(bv, daemon):
    result = bv("node", "start", "near-1", ETH_ID)
    assert result.out == f"Started node `{NEAR_ID}`\nStarted node `{ETH_ID}`\n"
    assert [request.id_or_name for request in daemon.called("StartNode")] == ["near-1", ETH_ID]
    result = bv("node", "stop", "eth-1", "--force")
    assert result.out == f"Stopped node `{ETH_ID}`\n"
    assert daemon.called("StopNode") == [pb.StopNodeRequest(id_or_name="eth-1", force=True)]


def test_start_and_stop_without_nodes_act_on_every_node(bv, daemon):
    assert bv("node", "stop").out == f"Stopped node `{ETH_ID}`\nStopped node `{NEAR_ID}`\n"
    assert [request.force for request in daemon.called("StopNode")] == [False, False]
    assert bv("node", "start").out == f"Started node `{ETH_ID}`\nStarted node `{NEAR_ID}`\n"


def test_restart_needs_nodes(bv, daemon):
    result = bv("node", "restart")
    assert (result.code, result.err) == (2, "Error: give the nodes to restart\n")
    assert bv("node", "restart", "eth-1", "--force").out == f"Restarted node `{ETH_ID}`\n"
    assert daemon.called("RestartNode") == [pb.StopNodeRequest(id_or_name="eth-1", force=True)]


def test_upgrade_takes_an_image_and_nodes_or_all(bv, daemon):
    result = bv("node", "upgrade", "eth-1", "--image", "ethereum/reth-mainnet/1.3.0")
    assert result.out == f"Node `{ETH_ID}` upgrade triggered\n"
    assert daemon.called("UpgradeNode") == [
        pb.UpgradeNodeRequest(id_or_name="eth-1", image="ethereum/reth-mainnet/1.3.0")
    ]
    assert (
        bv("node", "upgrade", "--all", "--image", "ethereum/reth-mainnet").out.count("upgrade triggered") == 2
    )
    for wrong in (["--image", "x"], ["eth-1", "--all", "--image", "x"]):
        result = bv("node", "upgrade", *wrong)
        assert (result.code, result.err) == (2, "Error: give the nodes to upgrade, or --all\n")
    result = bv("node", "upgrade", "eth-1")
    assert result.code == 2
    assert result.err.startswith("Error: ") and result.err.count("\n") == 1


def test_delete_asks_first(bv, daemon, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    result = bv("node", "delete", "eth-1")
    assert result.out == "Delete `eth-1`? [y/N]: Nothing deleted.\n"
    assert daemon.called("DeleteNode") == []
    monkeypatch.setattr("sys.stdin", io.StringIO("Y\n"))
    assert bv("node", "rm", "eth-1").out.endswith("? [y/N]: Deleted node `eth-1`\n")
    assert list(daemon.nodes) == [NEAR_ID]


def test_delete_without_input_deletes_nothing(bv, daemon, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert bv("node", "d", "eth-1").out.endswith("Nothing deleted.\n")
    assert len(daemon.nodes) == 2


def test_delete_by_tag_or_all_with_yes(bv, daemon):
    assert bv("node", "delete", "--tag", "test", "--yes").out == f"Deleted node `{NEAR_ID}`\n"
    assert bv("node", "delete", "--tags", "test", "-y").out == "No nodes found.\n"
    assert bv("node", "delete", "--all", "-y").out == f"Deleted node `{ETH_ID}`\n"
    assert daemon.nodes == {}


def test_delete_needs_exactly_one_selection(bv, daemon):
    for selection in ([], ["eth-1", "--all"], ["--tag", "test", "--all"], ["eth-1", "--tag", "test"]):
        result = bv("node", "delete", "--yes", *selection)
        assert result.code == 2
        assert result.err == "Error: select the nodes to delete one way: ids or names, --tag, or --all\n"
    assert daemon.calls == []


def test_status_prints_one_word_per_node(bv, daemon):
    assert bv("node", "status", "eth-1", NEAR_ID).out == "Running\nStopped\n"
    assert bv("node", "status", "eth-1", "--format", "json").json == [
        {"id": ETH_ID, "name": "eth-1", "status": "running"}
    ]
    assert bv("node", "status").code == 2


def test_capabilities(bv, daemon):
    assert bv("node", "capabilities", "eth-1").out == "height\nname\n"
    assert bv("node", "caps", "eth-1", "--format", "json").json == ["height", "name"]


def test_run_passes_the_parameter(bv, daemon, tmp_path):
    assert bv("node", "run", "height", "eth-1").out == "height()\n"
    assert bv("node", "run", "height", "eth-1", "--param", "7").out == "height(7)\n"
    (tmp_path / "param.json").write_text('{"block": 1}')
    result = bv(
        "node", "run", "name", "eth-1", "--param-file", str(tmp_path / "param.json"), "--format", "json"
    )
    assert result.json == {"method": "name", "result": 'name({"block": 1})'}
    assert [request.param for request in daemon.called("Run")] == ["", "7", '{"block": 1}']


def test_run_errors(bv, daemon, tmp_path):
    result = bv("node", "run", "bogus", "eth-1")
    assert (result.code, result.err) == (
        1,
        "Error: protocol method `bogus` not found; it has: height, name\n",
    )
    result = bv("node", "run", "height", "eth-1", "--param", "1", "--param-file", "x")
    assert (result.code, result.err) == (2, "Error: give --param or --param-file, not both\n")
    result = bv("node", "run", "height", "eth-1", "--param-file", str(tmp_path / "missing"))
    assert result.code == 2
    assert result.err.startswith("Error: --param-file: cannot read") and result.err.count("\n") == 1


def test_info_shows_the_node_its_metrics_and_jobs(bv, daemon):
    lines = bv("node", "info", "eth-1").out.splitlines()
    assert lines[:8] == [
        "Name:            eth-1",
        f"Id:              {ETH_ID}",
        "Image:           ethereum/reth-mainnet/1.2.0",
        "Runtime:         process",
        "Status:          Running",
        "Ip:              10.0.0.2",
        "Gateway:         10.0.0.1",
        "Uptime:          1d 01:01:01",
    ]
    assert "Block height:    123" in lines
    assert "Block age:       -" in lines
    assert "In consensus:    true" in lines
    assert "Jailed:          false" in lines
    jobs = lines[lines.index("Jobs:") + 1 : lines.index("Jobs:") + 13]
    assert jobs == [
        "  download:",
        "    Status:       2023-11-14 22:13:20 UTC| Finished with exit code 0",
        "    Restarts:     0",
        "    Progress:     100.00% (10/10 chunks)",
        "  node:",
        "    Status:       2023-11-14 22:13:20 UTC| Running",
        "    Restarts:     2",
        "    Logs:",
        "      line 5",
        "      line 4",
        "      line 3",
        "      ... use `bv node job eth-1 info node` to get more",
    ]
    assert lines[-2:] == [
        "Requirements:    cpu: 2, memory: 2048MB, disk: 100GB",
        "Tags:            prod, eth",
    ]


def test_info_of_a_stopped_node_shows_dashes(bv, daemon):
    lines = bv("node", "info", "near-1").out.splitlines()
    assert "Block height:    -" in lines
    assert "Jobs:            -" in lines
    info = bv("node", "info", "near-1", "--format", "json").json
    assert info["jobs"] is None
    assert set(info["metrics"].values()) == {None}


def test_info_as_json(bv, daemon):
    info = bv("node", "info", "eth-1", "--format", "json").json
    assert info["id"] == ETH_ID
    assert info["metrics"] == {
        "height": 123, "block_age": None, "consensus": True, "apr": None, "jailed": False,
        "jailed_reason": None, "protocol_state": None, "protocol_health": None,
    }  # fmt: skip
    download, node = info["jobs"]
    assert download["name"] == "download"
    assert download["progress"]["bytes_total"] == 5_000_000_000
    assert (node["status"], node["restart_count"], node["logs"][0]) == ("running", 2, "line 5")


def test_reload_plugin(bv, daemon):
    assert bv("node", "reload-plugin", "eth-1").out == "Reloaded plugin of node `eth-1`\n"
    assert daemon.called("ReloadPlugin") == [pb.NodeRef(id_or_name="eth-1")]


def test_shell_of_a_process_node_runs_in_the_node_folder(daemon, paths):
    node_dir = paths.node_dir(ETH_ID)
    node_dir.mkdir(parents=True)
    result = bv_run("node", "shell", "eth-1", stdin='pwd; echo "home=$HOME"; exit 3\n')
    assert result.code == 3, result.err
    assert result.out.splitlines() == [str(node_dir), f"home={node_dir}"]


def test_shell_of_a_node_without_a_folder(bv, daemon, paths):
    result = bv("node", "shell", "eth-1")
    assert (result.code, result.err) == (
        1,
        f"Error: node `eth-1` has no folder at {paths.node_dir(ETH_ID)}\n",
    )


def test_shell_of_a_node_on_an_unknown_runtime(bv, daemon, paths):
    daemon.nodes[ETH_ID].runtime = "qemu"
    paths.node_dir(ETH_ID).mkdir(parents=True)
    result = bv("node", "shell", "eth-1")
    assert result.err == "Error: node `eth-1` runs on runtime `qemu`, which no installed plugin provides\n"
    assert os.getcwd() != str(paths.node_dir(ETH_ID))
