"""The Babel API: the contract between the BlockVisor host and a node's protocol plugin.

A protocol plugin is a Rhai script folder (`load_rhai_plugin`) or an installed Python package
(`load_python_plugin`); either way the host gets a `ProtocolPlugin` whose methods are the Babel API
operations. `hookspecs` is the contract a plugin implements, `Engine` the one the host implements for
each node, and `babel_api.testing` the kit with which a protocol team tests its plugin with pytest.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel_api.engine import Engine
    from babel_api.errors import PluginError
    from babel_api.hookspecs import hookimpl
    from babel_api.loading import load_protocol_plugin, load_python_plugin
    from babel_api.models import (
        HttpResponse,
        JobConfig,
        JobInfo,
        JobProgress,
        JobStatus,
        JobType,
        JrpcRequest,
        NodeEnv,
        NodeHealth,
        PosixSignal,
        ProtocolStatus,
        RestartConfig,
        RestartPolicy,
        RestRequest,
        ShResponse,
    )
    from babel_api.plugin import ProtocolPlugin
    from babel_api.plugin_config import PluginConfig, PluginConfigError
    from babel_api.rhai_plugin import load_rhai_plugin

#: Where each public name lives. Names resolve on first use (PEP 562), so that importing one module,
#: `babel_api.models` say, does not load the Rhai engine: `bv` starts in the time of its imports.
_HOMES = {
    "Engine": "babel_api.engine",
    "HttpResponse": "babel_api.models",
    "JobConfig": "babel_api.models",
    "JobInfo": "babel_api.models",
    "JobProgress": "babel_api.models",
    "JobStatus": "babel_api.models",
    "JobType": "babel_api.models",
    "JrpcRequest": "babel_api.models",
    "NodeEnv": "babel_api.models",
    "NodeHealth": "babel_api.models",
    "PluginConfig": "babel_api.plugin_config",
    "PluginConfigError": "babel_api.plugin_config",
    "PluginError": "babel_api.errors",
    "PosixSignal": "babel_api.models",
    "ProtocolPlugin": "babel_api.plugin",
    "ProtocolStatus": "babel_api.models",
    "RestRequest": "babel_api.models",
    "RestartConfig": "babel_api.models",
    "RestartPolicy": "babel_api.models",
    "ShResponse": "babel_api.models",
    "hookimpl": "babel_api.hookspecs",
    "load_protocol_plugin": "babel_api.loading",
    "load_python_plugin": "babel_api.loading",
    "load_rhai_plugin": "babel_api.rhai_plugin",
}

__all__ = [
    "Engine",
    "HttpResponse",
    "JobConfig",
    "JobInfo",
    "JobProgress",
    "JobStatus",
    "JobType",
    "JrpcRequest",
    "NodeEnv",
    "NodeHealth",
    "PluginConfig",
    "PluginConfigError",
    "PluginError",
    "PosixSignal",
    "ProtocolPlugin",
    "ProtocolStatus",
    "RestRequest",
    "RestartConfig",
    "RestartPolicy",
    "ShResponse",
    "hookimpl",
    "load_protocol_plugin",
    "load_python_plugin",
    "load_rhai_plugin",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
