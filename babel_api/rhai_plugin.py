"""A protocol plugin written in Rhai: `main.rhai` in the plugin folder of a node image.

`RhaiPlugin` answers each Babel API hook by calling the script function of the same name, with the
original's rules: every call runs the script's top level first (so `const`s, `global::` and imports
work in functions), `init` and `upload` are called with no arguments whatever their arity, and a
custom method is found by name and by whether it takes the parameter. `import "x"` loads `x.rhai`
from the plugin folder and never from outside it.

Scripts come from node images and are untrusted: they run with limits that no real plugin reaches,
so a runaway loop or allocation ends in an error instead of hanging or exhausting the host.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import rhai

from babel_api.engine import Engine
from babel_api.errors import PluginError
from babel_api.hookspecs import hookimpl
from babel_api.plugin import NOTHING, ProtocolPlugin
from babel_api.plugin_config import PluginConfig
from babel_api.rhai_functions import HostFunctions

#: What one call into a script may use: about a second of work, and data far beyond any plugin's needs.
LIMITS: dict[str, int] = {
    "max_operations": 10_000_000,
    "max_string_size": 16 * 1024 * 1024,
    "max_array_size": 1_000_000,
    "max_map_size": 100_000,
}

MAIN_SCRIPT = "main.rhai"


def load_rhai_plugin(plugin_dir: str | Path, engine: Engine) -> ProtocolPlugin:
    """The protocol plugin of the Rhai plugin folder `plugin_dir`, for the node of `engine`."""
    main = Path(plugin_dir) / MAIN_SCRIPT
    protocol = ProtocolPlugin(engine, origin=str(main))
    protocol.register(RhaiPlugin(main, engine, lambda: protocol.config), name="rhai")
    return protocol


class RhaiPlugin:
    """Answers the Babel API hooks with the functions of one compiled `main.rhai`."""

    def __init__(self, main: Path, engine: Engine, current_config: Callable[[], PluginConfig | None]) -> None:
        if not main.is_file():
            raise PluginError(f"{main}: no such file; a Rhai plugin folder has its script in {MAIN_SCRIPT}")
        self.script_engine = rhai.Engine(**LIMITS, module_dir=main.parent)
        HostFunctions(engine, current_config).register(self.script_engine)
        try:
            self.ast = self.script_engine.compile_file(main)
        except rhai.ParseError as error:
            raise PluginError(f"Rhai syntax error: {error}") from error
        self.arities: dict[str, set[int]] = {}
        for function in self.ast.functions():
            self.arities.setdefault(function.name, set()).add(len(function.params))

    def call(self, name: str, *args: Any) -> Any:
        """Call the script function `name`, its top level run first; errors name the function.

        A function that returns `()` answers `NOTHING`: it ran, so its hook is implemented.
        """
        try:
            result = self.script_engine.call_fn(self.ast, name, *args)
        except rhai.RhaiError as error:
            raise PluginError(f"Rhai function '{name}' returned error: {error}") from error
        return NOTHING if result is None else result

    def answer(self, name: str) -> Any:
        """The result of the zero-argument script function `name`, or None when the script has none."""
        return self.call(name) if name in self.arities else None

    @hookimpl
    def capabilities(self) -> list[str]:
        return list(self.arities)

    @hookimpl
    def plugin_config(self) -> Any:
        try:
            self.script_engine.run_ast(self.ast)
        except rhai.RhaiError as error:
            raise PluginError(f"Rhai script top level returned error: {error}") from error
        # A `plugin_config` that takes parameters is not the configuration function.
        if 0 not in self.arities.get("plugin_config", ()):
            return None
        return self.call("plugin_config")

    @hookimpl
    def init(self) -> bool | None:
        """The script's `init()`, if it has one (of any arity: it is always called with none)."""
        if "init" not in self.arities:
            return None
        self.call("init")
        return True

    @hookimpl
    def upload(self) -> bool | None:
        if "upload" not in self.arities:
            return None
        self.call("upload")
        return True

    @hookimpl
    def protocol_status(self) -> Any:
        return self.answer("protocol_status")

    @hookimpl
    def height(self) -> Any:
        return self.answer("height")

    @hookimpl
    def block_age(self) -> Any:
        return self.answer("block_age")

    @hookimpl
    def name(self) -> Any:
        return self.answer("name")

    @hookimpl
    def address(self) -> Any:
        return self.answer("address")

    @hookimpl
    def consensus(self) -> Any:
        return self.answer("consensus")

    @hookimpl
    def apr(self) -> Any:
        return self.answer("apr")

    @hookimpl
    def jailed(self) -> Any:
        return self.answer("jailed")

    @hookimpl
    def jailed_reason(self) -> Any:
        return self.answer("jailed_reason")

    @hookimpl
    def sqd_name(self) -> Any:
        return self.answer("sqd_name")

    @hookimpl
    def call_custom_method(self, name: str, param: str) -> Any:
        """`name(param)` if the script has it with one parameter; `name()` if `param` is empty."""
        arities = self.arities.get(name, set())
        if 1 in arities:
            return self.call(name, param)
        if param == "" and 0 in arities:
            return self.call(name)
        return None
