"""The hooks of the example protocol: an Ethereum-style execution client (geth) run by BlockVisor.

A Python protocol plugin is a module (or an object) whose functions are marked `@babel_api.hookimpl` and
named after the hooks of `babel_api.hookspecs`. Each takes any of the hook's arguments by name (`engine`,
the node's `babel_api.Engine`), or none. Hooks left out are not offered: this plugin has no `init` or
`upload` of its own, so the host's defaults run them from what `plugin_config` describes.

Everything the plugin does to the node goes through the engine: JSON-RPC calls and shell commands run
inside the node, jobs run under babel. So the plugin is tested with `babel_api.testing.FakeEngine`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from babel_api import Engine, JrpcRequest, NodeHealth, ProtocolStatus, RestartConfig, hookimpl
from babel_api.plugin_config import (
    Actions,
    AlternativeDownload,
    ConfigFile,
    Job,
    PluginCompression,
    PluginConfig,
    Service,
    Task,
    Upload,
)

RPC_HOST = "http://127.0.0.1:8545"
RPC_TIMEOUT_SECS = 5
P2P_PORT = 30303
DEFAULT_CACHE_MB = "4096"

#: Verbosity of geth by log level, for the custom method `set_log_level`.
LOG_LEVELS = {"error": 1, "warn": 2, "info": 3, "debug": 4, "trace": 5}
CUSTOM_METHODS = ("peers", "set_log_level")


class RpcError(RuntimeError):
    """The node answered a JSON-RPC call with an HTTP error or a JSON-RPC error."""


@hookimpl
def capabilities() -> list[str]:
    """What the host may ask: the metrics it polls and the methods `bv node run` offers."""
    return ["protocol_status", "height", "block_age", "name", *CUSTOM_METHODS]


@hookimpl
def plugin_config(engine: Engine) -> PluginConfig:
    """The node as data; the host's default init and upload act on it.

    The `cache-mb` node property sizes geth's cache; as a value a user typed it goes into the
    command line only through `sanitize_sh_param`.
    """
    env = engine.node_env()
    data = env.protocol_data_path
    network = env.node_variant or "mainnet"
    cache_mb = engine.sanitize_sh_param(engine.node_params().get("cache-mb", DEFAULT_CACHE_MB))
    return PluginConfig(
        config_files=[
            ConfigFile(
                template="/var/lib/babel/templates/geth.toml",
                destination="/etc/geth/config.toml",
                params={"network": network, "node_name": env.node_name, "data_dir": f"{data}/geth"},
            )
        ],
        init=Actions(
            commands=[f"mkdir -p {data}/geth {data}/jwt"],
            jobs=[
                Job(
                    name="create_jwt",
                    run_sh=f"openssl rand -hex 32 > {data}/jwt/jwt.hex",
                    use_protocol_data=True,
                    one_time=True,
                )
            ],
        ),
        alternative_download=AlternativeDownload(
            run_sh=f"geth --{network} --datadir {data}/geth init /etc/geth/genesis.json",
            restart_config=RestartConfig(backoff_timeout_ms=60_000, backoff_base_ms=5_000, max_retries=3),
        ),
        services=[
            Service(
                name="geth",
                run_sh=(
                    f"geth --{network} --config /etc/geth/config.toml --datadir {data}/geth"
                    f" --authrpc.jwtsecret {data}/jwt/jwt.hex --port {P2P_PORT} --cache {cache_mb}"
                ),
                shutdown_timeout_secs=180,
                log_buffer_capacity_mb=256,
                log_timestamp=True,
            )
        ],
        upload=Upload(exclude=["geth/nodes/**", "geth/LOCK"], compression=PluginCompression.zstd(3)),
        scheduled=[Task(name="log_peers", schedule="0 */10 * * * *", function="peers")],
    )


@hookimpl
def protocol_status(engine: Engine) -> ProtocolStatus:
    """Broadcasting when in sync with peers; syncing, or unhealthy when the node does not answer."""
    try:
        syncing = rpc(engine, "eth_syncing")
        peers = int(rpc(engine, "net_peerCount"), 16)
    except (RpcError, OSError) as error:
        engine.log("warn", f"protocol_status: {error}")
        return ProtocolStatus("unreachable", NodeHealth.UNHEALTHY)
    if syncing is not False:
        return ProtocolStatus("syncing", NodeHealth.NEUTRAL)
    if peers == 0:
        return ProtocolStatus("no peers", NodeHealth.UNHEALTHY)
    return ProtocolStatus("broadcasting", NodeHealth.HEALTHY)


@hookimpl
def height(engine: Engine) -> int:
    return int(rpc(engine, "eth_blockNumber"), 16)


@hookimpl
def block_age(engine: Engine) -> int:
    """Seconds since the latest block; 0 before the first one."""
    block = rpc(engine, "eth_getBlockByNumber", ["latest", False])
    if block is None:
        return 0
    return max(0, int(time.time()) - int(block["timestamp"], 16))


@hookimpl
def name(engine: Engine) -> str:
    return engine.node_env().node_name


@hookimpl
def call_custom_method(engine: Engine, name: str, param: str) -> str | None:
    """`peers`: the number of peers. `set_log_level <level>`: change geth's verbosity at runtime.

    Any other name is not this plugin's: None lets the host report "no matching method".
    """
    if name == "peers":
        peers = int(rpc(engine, "net_peerCount"), 16)
        engine.log("info", f"{peers} peers")
        return str(peers)
    if name == "set_log_level":
        if param not in LOG_LEVELS:
            raise ValueError(f"set_log_level: expected one of {', '.join(LOG_LEVELS)}, got {param!r}")
        ipc = f"{engine.node_env().protocol_data_path}/geth/geth.ipc"
        response = engine.run_sh(f'geth attach --exec "debug.verbosity({LOG_LEVELS[param]})" {ipc}')
        if response.exit_code != 0:
            raise RuntimeError(f"set_log_level: geth attach failed: {response.stderr.strip()}")
        return f"log level set to {param}"
    return None


def rpc(engine: Engine, method: str, params: list[Any] | None = None) -> Any:
    """The `result` of a JSON-RPC call to the node."""
    request = JrpcRequest(
        host=RPC_HOST,
        method=method,
        params=None if params is None else json.dumps(params, separators=(",", ":")),
    )
    response = engine.run_jrpc(request, RPC_TIMEOUT_SECS)
    if response.status_code != 200:
        raise RpcError(f"{method}: unexpected status_code: {response.status_code}")
    body = json.loads(response.body)
    if "error" in body:
        raise RpcError(f"{method}: {body['error'].get('message', body['error'])}")
    return body.get("result")
