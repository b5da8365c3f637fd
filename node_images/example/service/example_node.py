"""The example protocol's node: a toy blockchain client serving Ethereum-style JSON-RPC.

It is the service that `node_images/example` runs inside a node, written for BlockVisor's demo and
end-to-end tests: plain Python (standard library only) because a development image runs it with the
host's `python3`. It produces one block per `--block-time` seconds and answers

* `eth_blockNumber` — the latest block number, hex;
* `eth_getBlockByNumber(tag_or_number, full)` — the block as `{number, hash, parentHash, timestamp}`;
  `"latest"` always works, an older block only on an archive node (`--archive`), otherwise `null`;
* `net_peerCount` — `0x0`: a devnet node is alone;
* `net_version`, `web3_clientVersion` — the chain name, and the client's name, version and chain.

Its state lives in `--data-dir`: `chain/head.json`, the latest block, rewritten atomically after every
block so that a restarted node continues from the height it had; an archive node also appends every
block to `chain/blocks.jsonl`. When `chain/name` exists (the image's init job writes it) it must name
the chain served: a data folder holds one chain. SIGTERM and SIGINT stop it cleanly.

The image's plugin carries this file into the node (see `embed_service.py`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = "0.1.0"
DEFAULT_PORT = 8545

log = logging.getLogger("example_node")


class Chain:
    """The node's chain: the latest block, the blocks kept on disk, and block production."""

    def __init__(self, data_dir: Path, name: str, archive: bool) -> None:
        self.name = name
        self.archive = archive
        self.folder = data_dir / "chain"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.head_file = self.folder / "head.json"
        self.blocks_file = self.folder / "blocks.jsonl"
        self.lock = threading.Lock()
        name_file = self.folder / "name"
        if name_file.exists() and (stored := name_file.read_text().strip()) != name:
            raise SystemExit(f"{data_dir} holds the chain {stored!r}, not {name!r}")
        if self.head_file.exists():
            self.head = json.loads(self.head_file.read_text())
            log.info("continuing %s from block %d", name, self.head["number"])
        else:
            self.head = self._block(0, int(time.time()), "0x" + "00" * 32)
            self._store(self.head)
            log.info("started %s at its genesis block", name)

    def _block(self, number: int, timestamp: int, parent_hash: str) -> dict:
        digest = hashlib.sha256(f"{self.name}:{number}:{timestamp}:{parent_hash}".encode()).hexdigest()
        return {"number": number, "timestamp": timestamp, "hash": "0x" + digest, "parentHash": parent_hash}

    def produce(self) -> dict:
        """Add the next block on top of the head, and store it before anyone can see it."""
        with self.lock:
            block = self._block(self.head["number"] + 1, int(time.time()), self.head["hash"])
            self._store(block)
            self.head = block
        log.debug("produced block %d", block["number"])
        return block

    def _store(self, block: dict) -> None:
        if self.archive:
            with self.blocks_file.open("a") as blocks:
                blocks.write(json.dumps(block) + "\n")
        # Written aside then renamed: a kill at any moment leaves the previous head or the new one.
        partial = self.head_file.with_suffix(".tmp")
        partial.write_text(json.dumps(block))
        os.replace(partial, self.head_file)

    def latest(self) -> dict:
        with self.lock:
            return dict(self.head)

    def block(self, number: int) -> dict | None:
        """Block `number`: the head always, an older one only from an archive node's history."""
        head = self.latest()
        if number == head["number"]:
            return head
        if not self.archive or number > head["number"] or not self.blocks_file.exists():
            return None
        with self.blocks_file.open() as blocks:
            for line in blocks:
                block = json.loads(line)
                if block["number"] == number:
                    return block
        return None


class RpcError(Exception):
    """A JSON-RPC error answer: its code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _as_rpc_block(block: dict | None) -> dict | None:
    if block is None:
        return None
    return {
        "number": hex(block["number"]),
        "timestamp": hex(block["timestamp"]),
        "hash": block["hash"],
        "parentHash": block["parentHash"],
    }


def call(chain: Chain, method: str, params: list) -> object:
    """The result of the JSON-RPC call `method(params)` on `chain`; an unknown method is an RpcError."""
    if method == "eth_blockNumber":
        return hex(chain.latest()["number"])
    if method == "eth_getBlockByNumber":
        tag = params[0] if params else "latest"
        if tag == "latest":
            return _as_rpc_block(chain.latest())
        try:
            number = int(tag, 16)
        except (TypeError, ValueError):
            raise RpcError(-32602, f"invalid block number {tag!r}") from None
        return _as_rpc_block(chain.block(number))
    if method == "net_peerCount":
        return "0x0"
    if method == "net_version":
        return chain.name
    if method == "web3_clientVersion":
        return f"example-node/v{VERSION}/{chain.name}"
    raise RpcError(-32601, f"the method {method} does not exist")


def make_handler(chain: Chain) -> type[BaseHTTPRequestHandler]:
    """The HTTP handler class answering JSON-RPC POSTs on `chain`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            answer = {"jsonrpc": "2.0", "id": None}
            try:
                request = json.loads(self.rfile.read(length))
                if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                    raise RpcError(-32600, "a request is an object with a method")
                answer["id"] = request.get("id")
                params = request.get("params") or []
                answer["result"] = call(chain, request["method"], params)
            except json.JSONDecodeError as error:
                answer["error"] = {"code": -32700, "message": f"parse error: {error}"}
            except RpcError as error:
                answer["error"] = {"code": error.code, "message": str(error)}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def produce_blocks(chain: Chain, block_time: float, stop: threading.Event) -> None:
    """Add a block every `block_time` seconds until `stop` is set."""
    while not stop.wait(block_time):
        block = chain.produce()
        if block["number"] % 10 == 0:
            log.info("block %d", block["number"])


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="where the chain is kept")
    parser.add_argument("--chain", default="devnet", help="the chain's name")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the JSON-RPC port")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--archive", action="store_true", help="keep every block, not only the latest")
    parser.add_argument("--block-time", type=float, default=1.0, help="seconds between blocks")
    parser.add_argument("--log-level", choices=["debug", "info"], default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s"
    )
    chain = Chain(args.data_dir, args.chain, args.archive)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(chain))
    stop = threading.Event()
    producer = threading.Thread(target=produce_blocks, args=(chain, args.block_time, stop), daemon=True)

    def shut_down(signum: int, _frame: object) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        stop.set()
        # shutdown() waits for serve_forever to return, which runs in this same (main) thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    producer.start()
    log.info("serving JSON-RPC for %s on %s:%d", chain.name, args.host, args.port)
    with server:
        server.serve_forever()
    producer.join()
    log.info("stopped at block %d", chain.latest()["number"])


if __name__ == "__main__":
    main()
