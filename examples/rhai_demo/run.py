"""`make demo` until the daemon exists: run examples/rhai_demo/main.rhai through rhai-py.

The two host functions stand in for what the node agent provides: a canned JSON-RPC answer and a
hex parser. The script runs with an operation limit, as untrusted plugins do.
"""

from pathlib import Path

import rhai


def run_jrpc(request: dict) -> dict:
    print(f"  host: run_jrpc({request})")
    return {"jsonrpc": "2.0", "id": 1, "result": "0x12d687"}


def main() -> None:
    engine = rhai.Engine(max_operations=100_000)
    engine.register_fn("run_jrpc", run_jrpc)
    engine.register_fn("parse_hex", lambda text: int(text, 16))
    plugin = engine.compile_file(Path(__file__).with_name("main.rhai"))
    print(f"plugin {plugin.source} defines {[f.name for f in plugin.functions()]}")
    print("height() ->", engine.call_fn(plugin, "height"))
    print("protocol_status() ->", engine.call_fn(plugin, "protocol_status"))


if __name__ == "__main__":
    main()
