"""A node's protocol plugin as the host sees it: one method per Babel API operation.

`ProtocolPlugin` holds a pluggy manager with the node's protocol plugin (Rhai or Python) and the
built-in fallbacks, and runs what every protocol shares: reloading, validating and saving
`plugin_config` before `init`, the protocol-status shortcuts while the node uploads, downloads or
starts, and the checks of what a plugin returns. Everything a plugin returns is checked here, so a
wrong type from a script is one clear error naming the function, never a surprise further on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import pluggy

from babel_api import hookspecs
from babel_api.defaults import default_init, default_upload
from babel_api.engine import Engine
from babel_api.errors import PluginError
from babel_api.hookspecs import hookimpl
from babel_api.models import NodeHealth, ProtocolStatus
from babel_api.plugin_config import DOWNLOAD_JOB_NAME, UPLOAD_JOB_NAME, PluginConfig
from babel_api.shapes import ShapeError

#: Setting this variable traces every hook call of every protocol plugin to standard error.
TRACE_VARIABLE = "BABEL_TRACE_HOOKS"

# Python type a hook's answer must have, and how to name it in an error.
_ANSWER_TYPES: dict[str, tuple[type, str]] = {
    "height": (int, "a non-negative integer"),
    "block_age": (int, "a non-negative integer"),
    "name": (str, "a string"),
    "address": (str, "a string"),
    "consensus": (bool, "a bool"),
    "apr": (float, "a float"),
    "jailed": (bool, "a bool"),
    "jailed_reason": (str, "a string"),
    "sqd_name": (str, "a string"),
}


class Nothing:
    """What a plugin function that ran returned when it returned nothing (Rhai's `()`).

    pluggy takes None to mean "not implemented here", so a function that ran answers this instead:
    an answer, and a wrong one for every operation that expects a value.
    """

    def __repr__(self) -> str:
        return "()"


NOTHING = Nothing()


class Defaults:
    """The built-in `init` and `upload`, driven by `plugin_config`; used when a plugin has its own none."""

    @hookimpl(trylast=True)
    def init(self, engine: Engine, config: PluginConfig | None) -> bool:
        default_init(engine, config)
        return True

    @hookimpl(trylast=True)
    def upload(self, engine: Engine, config: PluginConfig | None) -> bool:
        default_upload(engine, config)
        return True


class ProtocolPlugin:
    """The protocol plugin of one node, with the host's side of every Babel API operation.

    `origin` names where the plugin came from (a `main.rhai` path, an entry point) for error messages.
    The last saved `plugin_config` is loaded at construction, so capabilities are right before `init`.
    """

    def __init__(self, engine: Engine, origin: str) -> None:
        self.engine = engine
        self.origin = origin
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.manager.register(Defaults(), name="defaults")
        if os.environ.get(TRACE_VARIABLE):
            self.manager.trace.root.setwriter(lambda text: print(text, end="", file=sys.stderr))
            self.manager.enable_tracing()
        self.config = _saved_config(engine)

    def register(self, plugin: object, name: str | None = None) -> None:
        """Add a protocol plugin: an object or module with `@hookimpl` functions."""
        self.manager.register(plugin, name=name)

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def capabilities(self) -> list[str]:
        """What the plugin answers; with a `plugin_config`, also `upload` and `init` (the defaults)."""
        names = [name for names in self.hook.capabilities(engine=self.engine) for name in names]
        if self.config is not None:
            names += [UPLOAD_JOB_NAME, "init"]
        return list(dict.fromkeys(names))

    def reload_plugin_config(self) -> None:
        """Ask the plugin for its configuration again; validate it and save it for the next start."""
        answer = self.hook.plugin_config(engine=self.engine)
        if answer is None or isinstance(answer, PluginConfig):
            config = answer
        elif isinstance(answer, Mapping):
            config = PluginConfig.from_script(dict(answer))
        else:
            raise PluginError(f"{self.origin}: plugin_config() must return a map, got {_describe(answer)}")
        if config is not None:
            config.validate()
            self.engine.save_config(config)
        self.config = config

    def init(self) -> None:
        """Reload `plugin_config`, then initialise the node: the plugin's `init`, or the default one."""
        self.reload_plugin_config()
        self.hook.init(engine=self.engine, config=self.config)

    def upload(self) -> None:
        """Start an upload of the node's data: the plugin's `upload`, or the default one."""
        self.hook.upload(engine=self.engine, config=self.config)

    def protocol_status(self) -> ProtocolStatus:
        """Uploading, downloading or starting while the host's jobs say so; else what the plugin says."""
        jobs = self.engine.get_jobs()
        for job, state in ((UPLOAD_JOB_NAME, "uploading"), (DOWNLOAD_JOB_NAME, "downloading")):
            if job in jobs and jobs[job].status.kind == "running":
                return ProtocolStatus(state=state, health=NodeHealth.NEUTRAL)
        services = self.config.services if self.config is not None else []
        if any(s.name in jobs and jobs[s.name].status.kind == "pending" for s in services):
            return ProtocolStatus(state="starting", health=NodeHealth.NEUTRAL)
        answer = self._answer("protocol_status")
        if isinstance(answer, ProtocolStatus):
            return answer
        try:
            return ProtocolStatus.from_json(answer)
        except ShapeError as error:
            raise PluginError(
                f"{self.origin}: protocol_status() returned {_describe(answer)}: {error}"
            ) from None

    def height(self) -> int:
        return self._checked("height")

    def block_age(self) -> int:
        return self._checked("block_age")

    def name(self) -> str:
        return self._checked("name")

    def address(self) -> str:
        return self._checked("address")

    def consensus(self) -> bool:
        return self._checked("consensus")

    def apr(self) -> float:
        return self._checked("apr")

    def jailed(self) -> bool:
        return self._checked("jailed")

    def jailed_reason(self) -> str:
        return self._checked("jailed_reason")

    def sqd_name(self) -> str:
        return self._checked("sqd_name")

    def call_custom_method(self, name: str, param: str) -> str:
        """Run a protocol-specific method; its result must be a string."""
        answer = self.hook.call_custom_method(engine=self.engine, name=name, param=param)
        if answer is None:
            raise PluginError(f"{self.origin}: no matching method '{name}' found")
        if not isinstance(answer, str):
            raise PluginError(f"{self.origin}: {name}() must return a string, returned {_describe(answer)}")
        return answer

    def _answer(self, hook: str) -> Any:
        answer = getattr(self.hook, hook)(engine=self.engine)
        if answer is None:
            raise PluginError(f"{self.origin}: the plugin does not implement {hook}()")
        return answer

    def _checked(self, hook: str) -> Any:
        answer = self._answer(hook)
        expected, described = _ANSWER_TYPES[hook]
        # bool is an int in Python, but never an answer for an integer or a float.
        wrong_type = type(answer) is bool and expected is not bool
        if wrong_type or not isinstance(answer, expected) or (expected is int and answer < 0):
            raise PluginError(
                f"{self.origin}: {hook}() must return {described}, returned {_describe(answer)}"
            )
        return answer


def _saved_config(engine: Engine) -> PluginConfig | None:
    """The configuration saved by the last reload; anything unreadable counts as none."""
    try:
        return engine.load_config()
    except Exception:
        return None


def _describe(value: Any) -> str:
    """A script value for an error message: its kind and a short rendering."""
    kinds = {
        type(None): "()",
        Nothing: "()",
        bool: "a bool",
        int: "an integer",
        float: "a float",
        str: "a string",
    }
    kind = kinds.get(type(value), type(value).__name__)
    text = repr(value)
    return (
        kind
        if value is None or value is NOTHING
        else f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"
    )
