"""The plugin manager of the host: built-in plugins from one list, third-party ones from entry points.

Set `BLOCKVISOR_TRACE_HOOKS=1` to trace every hook call to standard error.
"""

import importlib
import os
import sys
from functools import cache

import pluggy

from blockvisor_core import hookspecs

#: The plugins that ship with BlockVisor, registered like any other.
DEFAULT_PLUGINS = ("blockvisor_plugins.runtimes", "blockvisor_plugins.snapshots")

#: The entry point group of third-party host plugins.
ENTRY_POINT_GROUP = "blockvisor"


@cache
def plugin_manager() -> pluggy.PluginManager:
    """The process's one plugin manager, with every built-in and installed plugin registered."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    if os.environ.get("BLOCKVISOR_TRACE_HOOKS"):
        manager.trace.root.setwriter(lambda text: print(text, end="", file=sys.stderr))
        manager.enable_tracing()
    return manager
