"""Node archives in standalone mode: the host's archive store (host config `archive_store`), the dataset
a node's properties point to (its variant's `archive_pointers`), and the archive config the nodes manager
writes for the snapshots plugin, through create, upgrade and a published snapshot."""

import json
import stat
import threading
from pathlib import Path

import pytest
from host_support import write_image

from babel_api.models import JobConfig, JobType, RestartPolicy
from blockvisor_core.config import ConfigError, HostConfig, load, save
from blockvisor_core.daemon.main import installed_runtimes
from blockvisor_core.job_kinds import JobContext
from blockvisor_core.nodes.errors import InvalidRequest, NodeError
from blockvisor_core.nodes.manager import CreateRequest, NodesManager
from blockvisor_core.nodes.scheduler import Scheduler, Task
from blockvisor_core.paths import Paths, archive_config
from blockvisor_core.plugins import plugin_manager
from blockvisor_core.secrets import SecretStore
from blockvisor_plugins.snapshots.upload import upload_job

#: `testproto` with a `network` enum whose `testnet` needs a new archive and a `pruned` switch whose
#: `on` does too. Variant `testproto-devnet` points the defaults and `network` to datasets and refuses
#: `network` with `pruned`; variant `testproto-bare` has no archive pointers. POINTERS is replaced.
BABEL_YAML = """
version: VERSION
protocol_key: testproto
visibility: development
rootfs:
  host: true
properties:
  - key: greeting
    name: Greeting
    dynamic_value: false
    default_value: hello
    ui_type: !text
  - key: network
    name: Network
    dynamic_value: false
    default_value: mainnet
    ui_type: !enum
      - value: mainnet
        name: Mainnet
      - value: testnet
        name: Testnet
        impact: {new_archive: true, add_disk_gb: 10}
  - key: pruned
    name: Pruned
    dynamic_value: false
    default_value: "off"
    ui_type: !switch
      on: {new_archive: true}
      off: {add_disk_gb: 100}
variants:
  - key: testproto-devnet
    sku_code: TST-DEV-N
    min_cpu: 1
    min_memory_mb: 64
    min_disk_gb: 1
    archive_pointers: POINTERS
  - key: testproto-bare
    sku_code: TST-BARE-N
    min_cpu: 1
    min_memory_mb: 64
    min_disk_gb: 1
"""


def pointer(target: str, *properties: str) -> str:
    """One entry of `BABEL_YAML`'s archive pointers."""
    return f"\n      - pointer: {target}\n        new_archive_properties: [{', '.join(properties)}]"


POINTERS = (
    pointer("!store_key testproto-mainnet-v1")
    + pointer("!store_key testproto-testnet-v1", "network")
    + pointer("!combination_disallowed", "pruned", "network")
)
S3 = {"kind": "s3", "endpoint": "https://s3.example", "bucket": "b", "access_key": "a", "secret_key": "s"}

DEVNET = "testproto/testproto-devnet"


def write_archive_image(folder: Path, version: str, pointers: str = POINTERS) -> Path:
    """The host tests' image (its plugin) at `version`, described by `BABEL_YAML` with `pointers`."""
    write_image(folder, version, "sleeper")
    (folder / "babel.yaml").write_text(BABEL_YAML.replace("VERSION", version).replace("POINTERS", pointers))
    return folder


async def never(task: Task) -> None:
    raise AssertionError("no task fires here")


def nodes_manager(paths: Paths, **config) -> NodesManager:
    """The real nodes manager of the host `paths`, with the process runtime and `config`'s fields."""
    host_config = HostConfig(runtime="process", image_dirs=[str(paths.root / "images")], **config)
    scheduler = Scheduler(paths.scheduler_state, never)
    return NodesManager(paths, host_config, installed_runtimes(), scheduler, SecretStore(paths.secrets))


@pytest.fixture
def paths(tmp_path) -> Paths:
    """A root whose image folder holds the archive image at 0.1.0."""
    paths = Paths(tmp_path / "root")
    write_archive_image(paths.root / "images" / "v1", "0.1.0")
    return paths


@pytest.fixture
def manager(paths) -> NodesManager:
    return nodes_manager(paths)


def create(manager: NodesManager, image: str = DEVNET, **properties: str) -> Path:
    """Create a node; its folder."""
    view = manager.create(CreateRequest(image=image, properties=properties))
    return manager.paths.node_dir(view.id)


def archive_of(node_dir: Path) -> dict | None:
    """The node's archive config, None when it has none."""
    path = archive_config(node_dir)
    return json.loads(path.read_text()) if path.exists() else None


def local_store(paths: Paths) -> dict:
    return {"kind": "local", "path": str(paths.archives)}


# --- the host's archive store --------------------------------------------------------------------------


def test_the_default_archive_store_is_a_local_folder_under_the_root(paths):
    save(paths, HostConfig.default("host"))
    config = load(paths)
    assert config.archive_store is None
    assert config.archive_store_config(paths) == {
        "kind": "local",
        "path": str(paths.root / "var/lib/blockvisor/archives"),
    }


@pytest.mark.parametrize(
    ("configured", "given"),
    [
        ({"kind": "local", "path": "/srv/archives"}, {"kind": "local", "path": "/srv/archives"}),
        ({"kind": "local", "path": "srv/archives"}, {"kind": "local", "path": "ROOT/srv/archives"}),
        (S3, S3),
    ],
)
def test_a_configured_archive_store_is_given_with_a_relative_path_under_the_root(paths, configured, given):
    paths.config.parent.mkdir(parents=True)
    paths.config.write_text(json.dumps({"archive_store": configured}))
    config = load(paths)
    assert config.to_json()["archive_store"] == configured
    expected = json.loads(json.dumps(given).replace("ROOT", str(paths.root)))
    assert config.archive_store_config(paths) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s3", 'archive_store: expected a map, got "s3"'),
        ({"path": "/srv"}, 'archive_store.kind: expected the name of an archive store kind (e.g. "local" or '
         '"s3"), got null'),
        ({"kind": 3}, "archive_store.kind: expected the name of an archive store kind"),
    ],
)  # fmt: skip
def test_a_malformed_archive_store_is_refused_naming_the_field(paths, value, expected):
    paths.config.parent.mkdir(parents=True)
    paths.config.write_text(json.dumps({"archive_store": value}))
    with pytest.raises(ConfigError) as caught:
        load(paths)
    assert str(caught.value).startswith(f"{paths.config}: {expected}")


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        (
            {"kind": "s3", "endpoint": "http://s3.example", "access_key": "a", "secret_key": "s"},
            "archive_store: archive store 's3': store.bucket: expected a non-empty string",
        ),
        ({"kind": "tape"}, "archive_store.kind: no installed plugin provides archive stores of kind 'tape'"),
    ],
)
def test_a_store_its_plugin_refuses_fails_the_create_naming_the_field(paths, store, expected):
    manager = nodes_manager(paths, archive_store=store)
    with pytest.raises(NodeError) as caught:
        create(manager)
    assert str(caught.value) == f"{paths.config}: {expected}"
    assert manager.views() == []
    assert list(paths.nodes.iterdir()) == []


# --- the dataset of a node -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "store_key"),
    [
        ({}, "testproto-mainnet-v1"),
        ({"greeting": "hi", "pruned": "off"}, "testproto-mainnet-v1"),
        ({"network": "testnet"}, "testproto-testnet-v1"),
        ({"pruned": "on"}, None),
    ],
)
def test_a_nodes_archive_is_the_pointer_of_its_new_archive_properties(manager, properties, store_key):
    node_dir = create(manager, **properties)
    if store_key is None:
        assert archive_of(node_dir) is None
        return
    assert archive_of(node_dir) == {"store": local_store(manager.paths), "store_key": store_key}
    assert stat.S_IMODE(archive_config(node_dir).stat().st_mode) == 0o600


def test_a_disallowed_combination_is_refused_and_nothing_is_created(manager):
    with pytest.raises(InvalidRequest) as caught:
        create(manager, network="testnet", pruned="on")
    assert str(caught.value) == (
        "properties network=testnet, pruned=on: this combination has no archive (combination_disallowed)"
    )
    assert manager.views() == []
    assert not manager.paths.nodes.exists() or list(manager.paths.nodes.iterdir()) == []


def test_a_variant_without_archive_pointers_gives_no_archive(manager):
    assert archive_of(create(manager, "testproto/testproto-bare", network="testnet")) is None


def test_a_configured_store_is_the_one_nodes_are_given(paths, tmp_path):
    manager = nodes_manager(paths, archive_store={"kind": "local", "path": str(tmp_path / "shared")})
    store = archive_of(create(manager))["store"]
    assert store == {"kind": "local", "path": str(tmp_path / "shared")}


# --- upgrades ------------------------------------------------------------------------------------------


def upgrade_to(manager: NodesManager, node_dir: Path, version: str, pointers: str) -> None:
    write_archive_image(manager.paths.root / "images" / version, version, pointers)
    manager.upgrade(node_dir.name, f"{DEVNET}/{version}")


def test_an_upgrade_keeps_the_nodes_dataset(manager):
    node_dir = create(manager, network="testnet")
    upgrade_to(manager, node_dir, "0.2.0", POINTERS)
    assert archive_of(node_dir)["store_key"] == "testproto-testnet-v1"
    # A version that names no archive for the node keeps the node's (spec §3.6).
    upgrade_to(manager, node_dir, "0.3.0", "[]")
    assert manager.view(node_dir.name).state.image.version == "0.3.0"
    assert archive_of(node_dir) == {"store": local_store(manager.paths), "store_key": "testproto-testnet-v1"}


def test_an_upgrade_to_another_dataset_is_refused(manager):
    node_dir = create(manager, network="testnet")
    with pytest.raises(InvalidRequest) as caught:
        upgrade_to(manager, node_dir, "0.2.0", POINTERS.replace("testnet-v1", "testnet-v2"))
    assert str(caught.value).endswith(
        "uses a different data set (current=`testproto-testnet-v1`, desired=`testproto-testnet-v2`)"
    )
    assert manager.view(node_dir.name).state.image.version == "0.1.0"
    assert archive_of(node_dir)["store_key"] == "testproto-testnet-v1"


def test_a_node_without_archive_takes_the_one_its_new_version_names(manager):
    node_dir = create(manager, pruned="on")
    upgrade_to(manager, node_dir, "0.2.0", POINTERS + pointer("!store_key testproto-pruned-v1", "pruned"))
    assert archive_of(node_dir)["store_key"] == "testproto-pruned-v1"


def test_an_upgrade_to_a_disallowed_combination_is_refused(manager):
    node_dir = create(manager, pruned="on")
    with pytest.raises(InvalidRequest, match="properties pruned=on: this combination has no archive"):
        upgrade_to(manager, node_dir, "0.2.0", POINTERS + pointer("!combination_disallowed", "pruned"))
    assert manager.view(node_dir.name).state.image.version == "0.1.0"


# --- end to end ----------------------------------------------------------------------------------------


def test_a_snapshot_published_in_the_default_store_is_the_nodes_protocol_archive(manager, tmp_path):
    node_dir = create(manager, network="testnet")
    node = manager._get(node_dir.name, "inspect")
    assert node.engine.has_protocol_archive() is False

    env = node.node_env()
    access = plugin_manager().hook.runtime_node_access(runtime="process", node_dir=node_dir)
    data = access.host_path(env.protocol_data_path)
    (data / "blocks").mkdir(parents=True)
    (data / "blocks" / "0001").write_bytes(b"genesis" * 100)
    upload = JobContext(
        name="upload",
        config=JobConfig(job_type=JobType.upload(), restart=RestartPolicy.never()),
        node_env=env,
        access=access,
        job_dir=tmp_path / "upload-job",
        archive=plugin_manager().hook.archive_api(node_dir=node_dir, node_env=env),
        stop=threading.Event(),
        report_progress=lambda progress: None,
    )
    upload_job(upload)

    assert (manager.paths.archives / "testproto-testnet-v1/1/manifest-header.json").is_file()
    assert node.engine.has_protocol_archive() is True
    # Another node of the same dataset finds it too; one of another dataset does not.
    assert manager._get(create(manager, network="testnet").name, "inspect").engine.has_protocol_archive()
    assert not manager._get(create(manager).name, "inspect").engine.has_protocol_archive()
