"""`bv node job NODE ...`: the jobs of one node (spec §1.1). The node comes before the job command, as in
the original, so `bv node job mynode ls` lists the jobs of `mynode`."""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Annotated

import cyclopts
from cyclopts import Parameter

from blockvisor_core.cli import render
from blockvisor_core.cli.errors import APP_SETTINGS, CliError, UsageError
from blockvisor_core.cli.logs import LogPrinter, appended_lines, job_logs
from blockvisor_core.cli.progress import follow_job
from blockvisor_core.cli.session import OutputFormat, complete_nodes, daemon, emit, paths

if TYPE_CHECKING:
    from cyclopts.completion import CompletionContext

job_app = cyclopts.App(
    # Its commands are run from `_for_node`, so their usage lines start with this.
    name="bv node job NODE",
    help="Inspect and control the jobs of a node.",
    usage="Usage: bv node job NODE COMMAND [ARGS]",
    **APP_SETTINGS,
)

#: The node the running job command is about, set from the command line by `_for_node`.
_node: ContextVar[str] = ContextVar("node")

Follow = Annotated[bool, Parameter(name=["--follow", "-f"])]

# `bv node job NODE logs --help` is the help of `logs`: `_for_node` passes it on.
job_app.meta.help_flags = ()


def _complete(context: CompletionContext) -> list[str] | list[tuple[str, str]]:
    """Shell completion of `bv node job NODE COMMAND`: node names, then the job commands."""
    if context.index == 0:
        return complete_nodes(context)
    if context.index == 1:
        return [name for name in job_app if not name.startswith("-")]
    return []


@job_app.meta.default
def _for_node(
    *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True, completer=_complete)],
) -> None:
    """Inspect and control the jobs of a node: `bv node job NODE COMMAND`."""
    if not tokens or tokens[0].startswith("-"):
        job_app(tokens or ["--help"])
        return
    token = _node.set(tokens[0])
    try:
        job_app(tokens[1:])
    finally:
        _node.reset(token)


@job_app.command(name="list", alias="ls")
def list_jobs(*, output: OutputFormat = "text") -> None:
    """List the node's jobs and their status."""
    with daemon() as client:
        jobs = client.get_node_jobs(_node.get())
    emit(output, render.jobs_text(jobs), [render.job_json(name, info) for name, info in jobs.items()])


@job_app.command
def start(name: str) -> None:
    """Start a job."""
    with daemon() as client:
        client.start_node_job(_node.get(), name)
    print(f"Started job `{name}`")


@job_app.command
def stop(
    name: str | None = None, *, all_jobs: Annotated[bool, Parameter(name=["--all", "-a"])] = False
) -> None:
    """Stop a job, or with --all every running job.

    Parameters
    ----------
    name
        The job.
    all_jobs
        Stop every job that is running.
    """
    if (name is None) != all_jobs:
        raise UsageError("give the job to stop, or --all")
    node = _node.get()
    with daemon() as client:
        if name is None:
            names = [job for job, info in client.get_node_jobs(node).items() if info.status.kind == "running"]
        else:
            names = [name]
        for job in names:
            client.stop_node_job(node, job)
            print(f"Stopped job `{job}`")


@job_app.command
def skip(name: str) -> None:
    """Mark a job finished with exit code 0 (stopping it first if it runs)."""
    with daemon() as client:
        client.skip_node_job(_node.get(), name)
    print(f"Skipped job `{name}`")


@job_app.command
def cleanup(name: str) -> None:
    """Drop a job's intermediate files, so that its next run starts from scratch."""
    with daemon() as client:
        client.cleanup_node_job(_node.get(), name)
    print(f"Cleaned up job `{name}`")


@job_app.command
def info(name: str, *, follow: Follow = False, output: OutputFormat = "text") -> None:
    """Show a job: status, progress, restarts and recent logs.

    Parameters
    ----------
    name
        The job.
    follow
        Show its progress live until it is neither pending nor running, then the job (with --format json:
        one JSON object per line at each change, the last one final).
    """
    node = _node.get()
    with daemon() as client:
        if not follow:
            found = client.get_node_job_info(node, name)
            emit(output, render.job_info_text(found), render.job_json(name, found))
            return
        final = follow_job(
            name,
            lambda: client.get_node_job_info(node, name),
            sys.stdout,
            tty=sys.stdout.isatty(),
            as_json=output == "json",
        )
    if output == "text":
        print(render.job_info_text(final))


@job_app.command
def logs(
    name: str | None = None,
    *,
    lines: Annotated[int, Parameter(name=["--lines", "-n"])] = 100,
    follow: Follow = False,
    output: OutputFormat = "text",
) -> None:
    """Show the last lines of a job's log, read from the node's files.

    Parameters
    ----------
    name
        The job (default: every job that has a log).
    lines
        How many of the last lines to show.
    follow
        Keep showing lines as they are written, until interrupted (with --format json: one JSON object
        `{"job", "line"}` per line).
    """
    if lines < 0:
        raise UsageError("--lines must not be negative")
    with daemon() as client:
        node = client.get_node(_node.get())
    files = job_logs(paths().node_dir(node.id), name)
    if not files:
        raise CliError(f"No job logs found for node `{node.name}`")
    if not follow and output == "json":
        emit(
            output,
            "",
            [{"job": log.job, "line": line} for log in files for line in log.last_lines(lines, False)],
        )
        return
    printer = LogPrinter(sys.stdout, as_json=output == "json", headers=len(files) > 1)
    for log in files:
        printer.write(log.job, log.last_lines(lines, keep_open=follow))
    if follow:
        for job, new in appended_lines(files):
            printer.write(job, new)
