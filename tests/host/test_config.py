"""The host config: defaults, standalone and connected modes, one clear error per malformed file."""

import json
import socket
import stat

import pytest

from blockvisor_core.config import (
    REPOSITORY_IMAGES,
    ApptainerConfig,
    ConfigError,
    HostConfig,
    Mode,
    NetConf,
    default_image_dirs,
    init_config,
    load,
    save,
)
from blockvisor_core.paths import Paths

CONNECTED = {
    "mode": "connected",
    "id": "host-id",
    "token": "jwt",
    "refresh_token": "refresh",
    "nodexeus_api_url": "https://api.example",
}


@pytest.fixture
def paths(tmp_path):
    return Paths(tmp_path / "root")


def write(paths, content):
    paths.config.parent.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(content if isinstance(content, str) else json.dumps(content))


def test_an_empty_object_is_a_standalone_config_with_the_spec_defaults(paths):
    write(paths, {})
    config = load(paths)
    assert config.mode is Mode.STANDALONE
    assert config.name == socket.gethostname()
    assert (config.id, config.token, config.refresh_token, config.nodexeus_api_url) == (None,) * 4
    assert config.blockvisor_port == 9001
    assert config.iface == "br0"
    assert config.net_conf == NetConf("0.0.0.0", "0.0.0.0", 32, [])
    assert config.apptainer == ApptainerConfig(
        extra_args=None, host_network=False, cpu_limit=True, memory_limit=True
    )
    assert config.update_check_interval_secs is None
    assert config.maintenance_mode is False
    assert (config.cluster_id, config.cluster_port, config.cluster_seed_urls) == (None, None, None)
    assert config.image_dirs is None
    assert config.runtime is None
    assert config.bridge == "bvbr0"
    assert config.node_network == "10.89.0.0/24"
    assert config.host_network is False


def test_a_full_config_reads_back_every_field(paths):
    value = {
        **CONNECTED,
        "org_id": "org",
        "private_org_id": None,
        "name": "host-1",
        "nodexeus_mqtt_url": "mqtt://mqtt.example",
        "update_check_interval_secs": 60,
        "blockvisor_port": 0,
        "iface": "bvbr0",
        "net_conf": {
            "gateway_ip": "192.69.220.81",
            "host_ip": "192.69.220.82",
            "prefix": 28,
            "available_ips": ["192.69.220.83"],
        },
        "cluster_id": "c1",
        "cluster_port": 1000,
        "cluster_seed_urls": ["udp://seed"],
        "apptainer": {
            "extra_args": ["--nv"],
            "host_network": True,
            "cpu_limit": False,
            "memory_limit": False,
        },
        "maintenance_mode": True,
        "image_dirs": ["/srv/images"],
        "runtime": "bwrap",
        "bridge": "br9",
        "node_network": "10.7.0.0/16",
        "host_network": True,
    }
    write(paths, value)
    config = load(paths)
    assert config.to_json() == value
    assert config.mode is Mode.CONNECTED
    assert config.net_conf.available_ips == ["192.69.220.83"]
    assert config.apptainer.extra_args == ["--nv"]


def test_the_apptainer_section_is_optional_and_partial(paths):
    write(paths, {"apptainer": {"host_network": True}})
    assert load(paths).apptainer == ApptainerConfig(host_network=True)


def test_a_missing_file_says_how_to_create_one(paths):
    with pytest.raises(ConfigError) as error:
        load(paths)
    assert str(error.value).startswith(f"no host config at {paths.config}; create one with `bv config init`")
    assert str(paths.root) in str(error.value)


def test_bad_json_names_the_line_and_column(paths):
    write(paths, '{\n  "name": "a",\n  "blockvisor_port" 9001\n}')
    with pytest.raises(ConfigError, match="invalid JSON") as error:
        load(paths)
    assert str(error.value).startswith(f"{paths.config}:3:21: invalid JSON: Expecting ':' delimiter")


def test_a_wrong_type_names_the_file_and_field(paths):
    write(paths, {"blockvisor_port": 70000})
    with pytest.raises(ConfigError) as error:
        load(paths)
    assert str(error.value) == (
        f"{paths.config}: blockvisor_port: expected an unsigned 16-bit integer (0 to 65535), got 70000"
    )


@pytest.mark.parametrize(
    ("value", "place", "expected"),
    [
        ({"name": 5}, "name", "expected a string, got 5"),
        ({"maintenance_mode": "yes"}, "maintenance_mode", 'expected a boolean, got "yes"'),
        ({"mode": "cloud"}, "mode", 'expected one of "standalone", "connected", got "cloud"'),
        ({"net_conf": {"host_ip": "10.0.0"}}, "net_conf.host_ip", "expected an IPv4 address, got '10.0.0'"),
        ({"net_conf": {"available_ips": ["1.2.3.4", "x"]}}, "net_conf.available_ips[1]", "IPv4 address"),
        ({"net_conf": {"prefix": 33}}, "net_conf.prefix", "expected an IPv4 prefix length (0 to 32), got 33"),
        ({"node_network": "10.89.0.1/24"}, "node_network", "has host bits set"),
        ({"image_dirs": "/srv/images"}, "image_dirs", 'expected a list, got "/srv/images"'),
        ({"apptainer": {"cpu_limit": 1}}, "apptainer.cpu_limit", "expected a boolean, got 1"),
    ],
)
def test_malformed_fields_are_named(paths, value, place, expected):
    write(paths, value)
    with pytest.raises(ConfigError) as error:
        load(paths)
    assert str(error.value).startswith(f"{paths.config}: {place}: ")
    assert expected in str(error.value)


def test_a_config_that_is_not_an_object_is_refused(paths):
    write(paths, [])
    with pytest.raises(ConfigError, match=r"blockvisor.json: expected a map, got a list of 0 items"):
        load(paths)


@pytest.mark.parametrize("missing", ["id", "token", "refresh_token", "nodexeus_api_url"])
def test_connected_mode_requires_the_control_plane_fields(paths, missing):
    write(paths, {key: value for key, value in CONNECTED.items() if key != missing})
    with pytest.raises(ConfigError) as error:
        load(paths)
    assert str(error.value) == f'{paths.config}: {missing}: missing required field (mode is "connected")'


def test_a_cluster_needs_seed_urls(paths):
    write(paths, {"cluster_id": "c1"})
    with pytest.raises(ConfigError, match="cluster_seed_urls: missing required field"):
        load(paths)


def test_save_replaces_the_file_atomically_and_owner_only(paths):
    config = HostConfig.default("host-1")
    save(paths, config)
    save(paths, config)
    assert load(paths) == config
    assert stat.S_IMODE(paths.config.stat().st_mode) == 0o600
    assert sorted(path.name for path in paths.config.parent.iterdir()) == ["blockvisor.json"]
    assert json.loads(paths.config.read_text())["mode"] == "standalone"


def test_loading_never_rewrites_the_file(paths):
    write(paths, '{"name": "kept as written"}')
    load(paths)
    assert paths.config.read_text() == '{"name": "kept as written"}'


def test_init_config_creates_a_default_standalone_config(paths):
    config = init_config(paths)
    assert config == HostConfig.default(socket.gethostname())
    assert config.mode is Mode.STANDALONE
    assert load(paths) == config


def test_init_config_keeps_an_existing_config(paths):
    write(paths, {"name": "mine"})
    assert init_config(paths).name == "mine"
    assert json.loads(paths.config.read_text()) == {"name": "mine"}


def test_init_config_does_not_hide_a_malformed_config(paths):
    write(paths, {"blockvisor_port": "x"})
    with pytest.raises(ConfigError, match="blockvisor_port"):
        init_config(paths)


def test_default_image_dirs_are_the_host_folder_then_the_repository_images(paths):
    assert REPOSITORY_IMAGES.name == "node_images"
    assert default_image_dirs(paths)[0] == paths.root / "var/lib/blockvisor/images"
    assert default_image_dirs(paths)[1:] == ([REPOSITORY_IMAGES] if REPOSITORY_IMAGES.is_dir() else [])
    assert HostConfig.default("h").image_search_path(paths) == default_image_dirs(paths)


def test_the_repository_images_are_left_out_when_absent(paths, monkeypatch):
    monkeypatch.setattr("blockvisor_core.config.REPOSITORY_IMAGES", paths.root / "no-such-folder")
    assert default_image_dirs(paths) == [paths.images]


def test_configured_image_dirs_replace_the_defaults_relative_to_the_root(paths):
    config = HostConfig(name="h", image_dirs=["/srv/images", "opt/images"])
    assert config.image_search_path(paths) == [paths.root / "/srv/images", paths.root / "opt/images"]
    assert config.image_search_path(paths)[0].as_posix() == "/srv/images"
