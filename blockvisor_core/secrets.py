"""The local secret store of standalone mode: per-node secrets, encrypted at rest.

In connected mode the control plane keeps a node's secrets; a standalone host keeps them here. Layout:

    <path>/key                  32 random bytes, the AES-256-GCM key (mode 0600, created on first use)
    <path>/nodes/<id>/<name>    one secret: b"BVS1", a 12-byte nonce, the ciphertext and its tag

Each secret is written atomically. The node id and the secret name are the associated data of its
encryption, so a file copied to another node or name fails to decrypt instead of leaking across nodes.
A copy of the folder without `key` reveals nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from blockvisor_core.files import write_atomic

_MAGIC = b"BVS1"
_NONCE_SIZE = 12
_KEY_SIZE = 32


class SecretError(ValueError):
    """A secret cannot be stored or read: a bad name, a wrong key, a damaged file."""


class SecretStore:
    """The secrets of every node of this host, under `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, node_id: str, name: str) -> bytes | None:
        """The secret `name` of the node, or None when it was never stored."""
        file = self._file(node_id, name)
        try:
            content = file.read_bytes()
        except FileNotFoundError:
            return None
        header = len(_MAGIC) + _NONCE_SIZE
        if len(content) < header or not content.startswith(_MAGIC):
            raise SecretError(f"secret {name!r} of node {node_id}: {file} is not a secret file")
        try:
            nonce, ciphertext = content[len(_MAGIC) : header], content[header:]
            return self._cipher().decrypt(nonce, ciphertext, _associated_data(node_id, name))
        except InvalidTag:
            raise SecretError(
                f"secret {name!r} of node {node_id}: cannot decrypt {file} "
                f"(it was encrypted with another key than {self.path / 'key'}, or it is damaged)"
            ) from None

    def put(self, node_id: str, name: str, value: bytes) -> None:
        """Store (or replace) the secret `name` of the node."""
        file = self._file(node_id, name)
        nonce = os.urandom(_NONCE_SIZE)
        ciphertext = self._cipher().encrypt(nonce, value, _associated_data(node_id, name))
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(file, _MAGIC + nonce + ciphertext, mode=0o600)

    def delete(self, node_id: str) -> None:
        """Forget every secret of the node (when the node is deleted)."""
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.path / "nodes" / _checked("node id", node_id))

    def _file(self, node_id: str, name: str) -> Path:
        return self.path / "nodes" / _checked("node id", node_id) / _checked("secret name", name)

    def _cipher(self) -> AESGCM:
        """The store's cipher, its key created on first use. Creation is race-free: the key is written
        whole to a temporary file, then hard-linked to `key`, which fails if another process won."""
        key_file = self.path / "key"
        if not key_file.exists():
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path, prefix=".key.")  # mode 0600
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(AESGCM.generate_key(bit_length=_KEY_SIZE * 8))
                    file.flush()
                    os.fsync(file.fileno())
                os.link(temporary, key_file)
            except FileExistsError:
                pass
            finally:
                os.unlink(temporary)
        key = key_file.read_bytes()
        if len(key) != _KEY_SIZE:
            raise SecretError(
                f"{key_file} is not a secret store key ({len(key)} bytes, expected {_KEY_SIZE})"
            )
        return AESGCM(key)


def _checked(what: str, name: str) -> str:
    """`name` when it is one plain file name: no separators, not `.` or `..`, not hidden, not empty."""
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise SecretError(f"invalid {what} {name!r}: it must be a plain name (no '/', not starting with '.')")
    return name


def _associated_data(node_id: str, name: str) -> bytes:
    return f"{node_id}/{name}".encode()
