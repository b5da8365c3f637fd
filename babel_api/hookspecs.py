"""The Babel API as hooks: everything a node's protocol plugin can answer. This module is the contract.

A protocol plugin implements some of these hooks with `@hookimpl`; the host calls them through
`ProtocolPlugin` (`babel_api.plugin`), which also runs the parts every protocol shares (reloading and
validating `plugin_config`, the protocol-status shortcuts for uploads and downloads, type checks).

- A Rhai plugin answers each hook by calling the script function of the same name
  (`babel_api.rhai_plugin`).
- A Python plugin is an object or module with `@hookimpl` functions, installed as a distribution
  that names it in the entry point group `blockvisor.protocols`.

Each hook may take any of its arguments by name, or none. Every hook but `capabilities` is
`firstresult`: the first plugin that returns something other than None answers it. Returning None
means "not implemented here": the built-in `init` and `upload` (the default algorithms driven by
`plugin_config`) are registered last and answer only when the protocol plugin does not.
"""

from collections.abc import Mapping
from typing import Any

import pluggy

from babel_api.engine import Engine
from babel_api.models import ProtocolStatus
from babel_api.plugin_config import PluginConfig

PROJECT = "babel"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def capabilities(engine: Engine) -> list[str]:
    """Names of the operations and custom methods this plugin answers.

    The host polls only the metrics listed here (`height`, `block_age`, `consensus`, `apr`, `jailed`,
    `jailed_reason`, `sqd_name`) and offers the rest as methods of `bv node run`. Results of all plugins
    are merged.
    """


@hookspec(firstresult=True)
def plugin_config(engine: Engine) -> PluginConfig | Mapping[str, Any] | None:
    """The node's declarative configuration, as a `PluginConfig` or the plain map a Rhai script returns.

    Services, config files, init commands and jobs, download and upload tuning, scheduled tasks: with
    it the host's default `init` and `upload` run the node. It is validated and saved on every reload.
    """


@hookspec(firstresult=True)
def init(engine: Engine, config: PluginConfig | None) -> bool | None:
    """Initialise the node: render config files, start init jobs, download data, start services.

    Called at first start, after an upgrade and in recovery, after `plugin_config` was reloaded.
    Return True when done. `config` is the reloaded configuration, None when the plugin has none.
    """


@hookspec(firstresult=True)
def upload(engine: Engine, config: PluginConfig | None) -> bool | None:
    """Upload the node's protocol data as a snapshot: stop services, run the upload job, restart them.

    Return True when the upload was started.
    """


@hookspec(firstresult=True)
def protocol_status(engine: Engine) -> ProtocolStatus | Mapping[str, Any] | None:
    """The protocol's own view of the node: a free-form `state` and a `health` (healthy/neutral/unhealthy).

    Not called while the node uploads, downloads or starts its services: the host answers those itself.
    """


@hookspec(firstresult=True)
def height(engine: Engine) -> int | None:
    """The node's current block height (a non-negative integer)."""


@hookspec(firstresult=True)
def block_age(engine: Engine) -> int | None:
    """Seconds since the node's latest block (a non-negative integer)."""


@hookspec(firstresult=True)
def name(engine: Engine) -> str | None:
    """The node's name on its network, if the protocol has one."""


@hookspec(firstresult=True)
def address(engine: Engine) -> str | None:
    """The node's address on its network (a validator or account address)."""


@hookspec(firstresult=True)
def consensus(engine: Engine) -> bool | None:
    """Whether the node takes part in consensus."""


@hookspec(firstresult=True)
def apr(engine: Engine) -> float | None:
    """The node's annual percentage rate of rewards, as a float."""


@hookspec(firstresult=True)
def jailed(engine: Engine) -> bool | None:
    """Whether the node is jailed (excluded from consensus for misbehaviour)."""


@hookspec(firstresult=True)
def jailed_reason(engine: Engine) -> str | None:
    """Why the node is jailed."""


@hookspec(firstresult=True)
def sqd_name(engine: Engine) -> str | None:
    """The node's name in the SQD network, for protocols that have one."""


@hookspec(firstresult=True)
def call_custom_method(engine: Engine, name: str, param: str) -> str | None:
    """Run the protocol-specific method `name` with `param` (both strings); return its result as a string.

    Scheduled tasks and `bv node run <method>` arrive here. Return None when `name` is not yours.
    """
