"""The Babel API: the contract between the BlockVisor host and a node's protocol plugin.

A protocol plugin is a Rhai script folder (`load_rhai_plugin`) or an installed Python package
(`load_python_plugin`); either way the host gets a `ProtocolPlugin` whose methods are the Babel API
operations. `hookspecs` is the contract a plugin implements, `Engine` the one the host implements for
each node, and `babel_api.testing` the kit with which a protocol team tests its plugin with pytest.
"""

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
