"""Fixtures of the snapshot tests: one real S3-compatible server for the session, nodes to fill."""

import hashlib

import pytest
from s3_server import S3Server
from snapshot_support import Node

from blockvisor_plugins.snapshots.stores.s3 import S3Store


@pytest.fixture(scope="session")
def s3(tmp_path_factory) -> S3Server:
    """`rclone serve s3` on loopback, checking SigV4 signatures; stopped at the end of the session."""
    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture
def store_config(s3, request) -> dict:
    """The S3 store config, with a bucket of this test's own (so tests never see each other's objects)."""
    name = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")
    bucket = f"t-{name}-{hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]}"
    s3.create_bucket(bucket)
    return {**s3.store_config(), "bucket": bucket}


@pytest.fixture
def store(store_config) -> S3Store:
    return S3Store.from_config(store_config)


@pytest.fixture
def nodes(tmp_path, store_config):
    """`nodes(name)`: a node folder configured with this test's S3 archive."""

    def make(name: str = "node") -> Node:
        return Node(tmp_path / name).configure(store_config)

    return make
