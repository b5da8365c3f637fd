"""Loading a node's protocol plugin: a Rhai plugin folder, or an installed Python plugin.

A node image names its plugin in `babel.yaml`; Python code is taken only from distributions the
operator installed (entry point group `blockvisor.protocols`), never from the image.
"""

from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from babel_api.engine import Engine
from babel_api.errors import PluginError
from babel_api.hookspecs import hookimpl
from babel_api.plugin import ProtocolPlugin
from babel_api.rhai_plugin import load_rhai_plugin

#: The entry point group of installed Python protocol plugins.
PROTOCOLS_GROUP = "blockvisor.protocols"


def load_python_plugin(plugin: object | str, engine: Engine) -> ProtocolPlugin:
    """The protocol plugin written in Python: an object or module with `@hookimpl` functions, or the name
    of an entry point of the group `blockvisor.protocols` that an installed distribution declares.

    A node image names its Python plugin by entry point only, so no code from an image is ever imported.
    """
    if isinstance(plugin, str):
        found = entry_points(group=PROTOCOLS_GROUP, name=plugin)
        if not found:
            installed = sorted(ep.name for ep in entry_points(group=PROTOCOLS_GROUP)) or ["none"]
            raise PluginError(
                f"no Python protocol plugin '{plugin}' is installed (entry points of {PROTOCOLS_GROUP}: "
                f"{', '.join(installed)})"
            )
        origin, plugin = f"{PROTOCOLS_GROUP}:{plugin}", next(iter(found)).load()
    else:
        origin = getattr(plugin, "__name__", type(plugin).__name__)
    protocol = ProtocolPlugin(engine, origin)
    protocol.register(plugin, name="protocol")
    if not protocol.manager.hook.capabilities.get_hookimpls():
        protocol.register(ImplementedHooks(protocol.manager, plugin), name="implemented-hooks")
    return protocol


def load_protocol_plugin(plugin: Mapping[str, Any], image_dir: Path, engine: Engine) -> ProtocolPlugin:
    """The protocol plugin a node image names in the `plugin` section of its `babel.yaml`.

    `{loader: rhai, path: plugin}`: the Rhai plugin folder `path`, inside the image folder (the default).
    `{loader: python, entry_point: NAME}`: the installed Python plugin of that entry point name.
    """
    loader = plugin.get("loader", "rhai")
    if loader == "python":
        entry_point = plugin.get("entry_point")
        if not isinstance(entry_point, str) or not entry_point:
            raise PluginError(
                "plugin.entry_point: the python loader needs the name of an installed entry point"
            )
        return load_python_plugin(entry_point, engine)
    if loader != "rhai":
        raise PluginError(f"plugin.loader: expected rhai or python, got {loader!r}")
    folder = (image_dir / str(plugin.get("path", "plugin"))).resolve()
    if not folder.is_relative_to(image_dir.resolve()):
        raise PluginError(f"plugin.path: {plugin.get('path')!r} leaves the image folder {image_dir}")
    return load_rhai_plugin(folder, engine)


class ImplementedHooks:
    """Capabilities of a Python plugin that does not list its own: the hooks it implements."""

    def __init__(self, manager: pluggy.PluginManager, plugin: object) -> None:
        self.names = [
            hook.name
            for hook in manager.get_hookcallers(plugin) or []
            if hook.name not in ("plugin_config", "capabilities", "call_custom_method")
        ]

    @hookimpl
    def capabilities(self) -> list[str]:
        return self.names
