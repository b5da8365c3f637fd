"""`bv node ...`: create, control, inspect and enter the nodes of this host (spec §1.1, standalone mode).

Every node argument is a node id or a node name; the daemon resolves names. Commands that act on several
nodes act on them in order and stop at the first failure, whose message is the error.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import cyclopts
from cyclopts import Parameter

from blockvisor_core.cli import render
from blockvisor_core.cli.client import DaemonClient, DaemonError, DaemonNotRunning
from blockvisor_core.cli.errors import UsageError
from blockvisor_core.cli.job_commands import job_app
from blockvisor_core.cli.session import NodeArg, OutputFormat, daemon, emit, paths
from blockvisor_core.cli.shell import exec_shell

node_app = cyclopts.App(name="node", alias="n", help="Create, control and inspect nodes.")
node_app.command(job_app.meta, name="job", alias="j")

Tags = Annotated[
    list[str] | None,
    Parameter(name="--tag", consume_multiple=False, help="A tag; repeat the option for several."),
]


@node_app.command(name="list", alias="ls")
def list_nodes(
    *,
    running: Annotated[bool, Parameter(name=["--running", "-r"])] = False,
    tag: Tags = None,
    output: OutputFormat = "text",
) -> None:
    """List the nodes of this host.

    Parameters
    ----------
    running
        Only the nodes that are running.
    tag
        Only the nodes that have any of these tags.
    """
    with daemon() as client:
        nodes = client.get_nodes()
    if running:
        nodes = [node for node in nodes if node.status == "running"]
    if tag:
        nodes = [node for node in nodes if set(tag) & set(node.tags)]
    now = time.time()
    emit(output, render.node_table(nodes, now), [render.node_json(node, now) for node in nodes])


@node_app.command(alias="c")
def create(
    image: str,
    *,
    props: str = "{}",
    name: str = "",
    tag: Tags = None,
    runtime: str = "",
    output: OutputFormat = "text",
) -> None:
    """Create a node from a node image.

    Parameters
    ----------
    image
        A path to an image folder, or `protocol/variant[/version]` found in the configured image folders.
    props
        The node's properties, a JSON map of strings: '{"network": "mainnet"}'.
    name
        The node's name (default: a generated one).
    tag
        A tag of the node; repeat the option for several.
    runtime
        The runtime that runs the node (default: the host's).
    """
    properties = _properties(props)
    with daemon() as client:
        node = client.create_node(_image_reference(image), properties, name, tag or [], runtime)
    text = f"Created new node with ID `{node.id}` and name `{node.name}`"
    emit(output, text, render.node_json(node, time.time()))


@node_app.command
def start(*nodes: NodeArg) -> None:
    """Start nodes (none given: every node of this host).

    Parameters
    ----------
    nodes
        Node ids or names.
    """
    with daemon() as client:
        for node in _selected(client, nodes):
            print(f"Started node `{client.start_node(node).id}`")


@node_app.command
def stop(*nodes: NodeArg, force: bool = False) -> None:
    """Stop nodes (none given: every node of this host).

    Parameters
    ----------
    nodes
        Node ids or names.
    force
        Stop at once, without the graceful shutdown of the node's jobs.
    """
    with daemon() as client:
        for node in _selected(client, nodes):
            print(f"Stopped node `{client.stop_node(node, force).id}`")


@node_app.command
def restart(*nodes: NodeArg, force: bool = False) -> None:
    """Restart nodes.

    Parameters
    ----------
    nodes
        Node ids or names.
    force
        Stop at once, without the graceful shutdown of the node's jobs.
    """
    if not nodes:
        raise UsageError("give the nodes to restart")
    with daemon() as client:
        for node in nodes:
            print(f"Restarted node `{client.restart_node(node, force).id}`")


@node_app.command
def upgrade(
    *nodes: NodeArg,
    image: str,
    all_nodes: Annotated[bool, Parameter(name=["--all", "-a"])] = False,
) -> None:
    """Upgrade nodes to another image.

    Parameters
    ----------
    nodes
        Node ids or names.
    image
        The image to upgrade to: a path to an image folder, or `protocol/variant[/version]`.
    all_nodes
        Upgrade every node of this host.
    """
    if bool(nodes) == all_nodes:
        raise UsageError("give the nodes to upgrade, or --all")
    reference = _image_reference(image)
    with daemon() as client:
        for node in nodes or _all_nodes(client):
            print(f"Node `{client.upgrade_node(node, reference).id}` upgrade triggered")


@node_app.command(alias=["d", "rm"])
def delete(
    *nodes: NodeArg,
    tag: Annotated[
        list[str] | None,
        Parameter(name=["--tag", "--tags"], consume_multiple=False, help="A tag; repeatable."),
    ] = None,
    all_nodes: Annotated[bool, Parameter(name=["--all", "-a"])] = False,
    yes: Annotated[bool, Parameter(name=["--yes", "-y"])] = False,
) -> None:
    """Delete nodes and their data, after a confirmation. Select them one way: by id or name, by tag,
    or all.

    Parameters
    ----------
    nodes
        Node ids or names.
    tag
        Delete the nodes that have any of these tags.
    all_nodes
        Delete every node of this host.
    yes
        Do not ask for a confirmation.
    """
    if sum((bool(nodes), bool(tag), all_nodes)) != 1:
        raise UsageError("select the nodes to delete one way: ids or names, --tag, or --all")
    with daemon() as client:
        if tag:
            selected = [node.id for node in client.get_nodes() if set(tag) & set(node.tags)]
            question = f"Delete the nodes tagged {', '.join(tag)}: {', '.join(selected)}?"
        elif all_nodes:
            selected = _all_nodes(client)
            question = f"Delete all {len(selected)} nodes?"
        else:
            selected = list(nodes)
            question = f"Delete {', '.join(f'`{node}`' for node in selected)}?"
        if not selected:
            print("No nodes found.")
            return
        if not yes and not _confirm(question):
            print("Nothing deleted.")
            return
        for node in selected:
            client.delete_node(node)
            print(f"Deleted node `{node}`")


@node_app.command
def status(*nodes: NodeArg, output: OutputFormat = "text") -> None:
    """Show the status of nodes: Running, Stopped, Busy or Failed.

    Parameters
    ----------
    nodes
        Node ids or names.
    """
    if not nodes:
        raise UsageError("give the nodes whose status to show")
    with daemon() as client:
        found = [client.get_node(node) for node in nodes]
    text = "\n".join(render.status_word(node.status) for node in found)
    emit(output, text, [{"id": node.id, "name": node.name, "status": node.status} for node in found])


@node_app.command(alias="caps")
def capabilities(node: NodeArg, *, output: OutputFormat = "text") -> None:
    """List the methods of a node's protocol plugin (what `bv node run` can call)."""
    with daemon() as client:
        names = client.list_capabilities(node)
    emit(output, "\n".join(names), names)


@node_app.command
def run(
    method: str,
    node: NodeArg,
    *,
    param: str | None = None,
    param_file: Path | None = None,
    output: OutputFormat = "text",
) -> None:
    """Call a method of a node's protocol plugin and print what it returns.

    Parameters
    ----------
    method
        The method, one of `bv node capabilities`.
    param
        The method's parameter (default: empty).
    param_file
        A file holding the method's parameter.
    """
    if param is not None and param_file is not None:
        raise UsageError("give --param or --param-file, not both")
    if param_file is not None:
        try:
            param = param_file.read_text()
        except OSError as error:
            raise UsageError(f"--param-file: cannot read {param_file}: {error.strerror or error}") from None
    with daemon() as client:
        result = client.run(node, method, param or "")
    emit(output, result, {"method": method, "result": result})


@node_app.command
def info(node: NodeArg, *, output: OutputFormat = "text") -> None:
    """Show a node: its image, status, network, uptime, protocol metrics, jobs, requirements and tags."""
    with daemon() as client:
        found = client.get_node(node)
        metrics = _unless_unavailable(lambda: client.get_node_metrics(found.id))
        jobs = _unless_unavailable(lambda: client.get_node_jobs(found.id))
    now = time.time()
    emit(
        output,
        render.node_info_text(found, metrics, jobs, now),
        render.node_info_json(found, metrics, jobs, now),
    )


@node_app.command
def shell(node: NodeArg) -> None:
    """Open an interactive shell inside a node."""
    with daemon() as client:
        found = client.get_node(node)
    exec_shell(paths(), found)


@node_app.command(name="reload-plugin")
def reload_plugin(node: NodeArg) -> None:
    """Load a node's protocol plugin again from its files (and its config, if the node runs)."""
    with daemon() as client:
        client.reload_plugin(node)
    print(f"Reloaded plugin of node `{node}`")


# -- helpers ------------------------------------------------------------------------------------------------


def _all_nodes(client: DaemonClient) -> list[str]:
    return [node.id for node in client.get_nodes()]


def _selected(client: DaemonClient, nodes: tuple[str, ...]) -> list[str]:
    """The nodes given, or every node when none is."""
    return list(nodes) or _all_nodes(client)


#: What a JSON value is, by the Python type it parses to.
_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _properties(text: str) -> dict[str, str]:
    """`--props`: a JSON map of strings, checked before anything is sent."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--props is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError(f"--props must be a JSON map of strings, not {_JSON_KINDS[type(value)]}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise UsageError(f"--props: the value of `{key}` must be a string, not {json.dumps(item)}")
    return value


def _image_reference(reference: str) -> str:
    """An image folder as an absolute path (the daemon runs elsewhere); `protocol/variant[/version]` as is."""
    path = Path(reference).expanduser()
    if path.exists() or reference.startswith(("/", "./", "../", "~")):
        return str(path.absolute())
    return reference


T = TypeVar("T")


def _unless_unavailable(call: Callable[[], T]) -> T | None:
    """What `call` returns, or None when the daemon cannot answer it now (a stopped node has no jobs)."""
    try:
        return call()
    except DaemonNotRunning:
        raise
    except DaemonError:
        return None


def _confirm(question: str) -> bool:
    """Ask `question` on the terminal; only `y` (any case) says yes, and end of input says no."""
    try:
        answer = input(f"{question} [y/N]: ")
    except EOFError:
        return False
    return answer.strip().lower() == "y"
