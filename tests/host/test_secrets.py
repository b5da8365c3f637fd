"""The local secret store: per-node secrets, encrypted at rest, each file written whole."""

import os
import stat
import threading

import pytest

from blockvisor_core.secrets import SecretError, SecretStore

NODE = "6f1c2a3e-node"
PLAINTEXT = b"validator private key: 0xdeadbeef"


@pytest.fixture
def store(tmp_path):
    return SecretStore(tmp_path / "secrets")


def files_under(folder):
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_stored_secret_reads_back(store):
    store.put(NODE, "validator-key", PLAINTEXT)
    assert store.get(NODE, "validator-key") == PLAINTEXT


def test_an_absent_secret_is_none(store):
    assert store.get(NODE, "never-stored") is None
    store.put(NODE, "other", b"x")
    assert store.get(NODE, "never-stored") is None
    assert store.get("another-node", "other") is None


def test_put_replaces_and_secrets_are_per_node(store):
    store.put(NODE, "key", b"one")
    store.put(NODE, "key", b"two")
    store.put("another-node", "key", b"three")
    assert store.get(NODE, "key") == b"two"
    assert store.get("another-node", "key") == b"three"


def test_an_empty_secret_is_not_absent(store):
    store.put(NODE, "empty", b"")
    assert store.get(NODE, "empty") == b""


def test_nothing_on_disk_contains_the_plaintext(store):
    store.put(NODE, "validator-key", PLAINTEXT)
    files = files_under(store.path)
    assert sorted(path.relative_to(store.path).as_posix() for path in files) == [
        "key",
        f"nodes/{NODE}/validator-key",
    ]
    for path in files:
        content = path.read_bytes()
        assert PLAINTEXT not in content
        assert b"0xdeadbeef" not in content


def test_the_same_secret_encrypts_differently_each_time(store):
    store.put(NODE, "a", PLAINTEXT)
    first = (store.path / "nodes" / NODE / "a").read_bytes()
    store.put(NODE, "a", PLAINTEXT)
    assert (store.path / "nodes" / NODE / "a").read_bytes() != first


def test_the_key_is_created_on_first_use_owner_only(store):
    assert not store.path.exists()
    store.put(NODE, "a", b"x")
    key = store.path / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.path / "nodes" / NODE / "a").stat().st_mode) == 0o600


def test_the_key_is_kept_across_store_instances(store):
    store.put(NODE, "a", b"x")
    key = (store.path / "key").read_bytes()
    assert SecretStore(store.path).get(NODE, "a") == b"x"
    assert (store.path / "key").read_bytes() == key


def test_concurrent_first_use_agrees_on_one_key(tmp_path):
    path = tmp_path / "secrets"
    barrier = threading.Barrier(8)

    def put(index):
        barrier.wait()
        SecretStore(path).put(NODE, f"s{index}", b"%d" % index)

    threads = [threading.Thread(target=put, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [SecretStore(path).get(NODE, f"s{index}") for index in range(8)] == [b"%d" % i for i in range(8)]
    assert [p.name for p in path.iterdir() if p.name.startswith(".key.")] == []


def test_a_wrong_key_fails_clearly(store):
    store.put(NODE, "validator-key", PLAINTEXT)
    (store.path / "key").write_bytes(os.urandom(32))
    with pytest.raises(SecretError) as error:
        store.get(NODE, "validator-key")
    message = str(error.value)
    assert message.startswith(f"secret 'validator-key' of node {NODE}: cannot decrypt")
    assert "encrypted with another key" in message and str(store.path / "key") in message


def test_a_secret_moved_to_another_node_or_name_does_not_decrypt(store):
    store.put(NODE, "validator-key", PLAINTEXT)
    source = store.path / "nodes" / NODE / "validator-key"
    store.put("other-node", "placeholder", b"")
    (store.path / "nodes" / "other-node" / "validator-key").write_bytes(source.read_bytes())
    (store.path / "nodes" / NODE / "renamed").write_bytes(source.read_bytes())
    with pytest.raises(SecretError, match="cannot decrypt"):
        store.get("other-node", "validator-key")
    with pytest.raises(SecretError, match="cannot decrypt"):
        store.get(NODE, "renamed")


@pytest.mark.parametrize("content", [b"", b"BVS1short", b"not a secret file at all, no magic"])
def test_a_damaged_file_fails_clearly(store, content):
    store.put(NODE, "a", b"x")
    (store.path / "nodes" / NODE / "a").write_bytes(content)
    with pytest.raises(SecretError, match="is not a secret file"):
        store.get(NODE, "a")


def test_a_tampered_file_fails_clearly(store):
    store.put(NODE, "a", PLAINTEXT)
    file = store.path / "nodes" / NODE / "a"
    content = bytearray(file.read_bytes())
    content[-1] ^= 1
    file.write_bytes(bytes(content))
    with pytest.raises(SecretError, match=r"cannot decrypt .* or it is damaged"):
        store.get(NODE, "a")


def test_a_key_file_of_the_wrong_size_is_refused(store):
    store.path.mkdir()
    (store.path / "key").write_bytes(b"short")
    with pytest.raises(SecretError, match="is not a secret store key \\(5 bytes, expected 32\\)"):
        store.put(NODE, "a", b"x")


@pytest.mark.parametrize("name", ["", ".", "..", "../key", "a/b", "a\\b", ".hidden", "a\0b"])
def test_names_with_path_separators_are_refused(store, name):
    with pytest.raises(SecretError, match="invalid secret name"):
        store.put(NODE, name, b"x")
    with pytest.raises(SecretError, match="invalid secret name"):
        store.get(NODE, name)
    assert not store.path.exists()


@pytest.mark.parametrize("node_id", ["", "..", "a/b"])
def test_node_ids_with_path_separators_are_refused(store, node_id):
    with pytest.raises(SecretError, match="invalid node id"):
        store.put(node_id, "a", b"x")


def test_delete_forgets_every_secret_of_one_node(store):
    store.put(NODE, "a", b"1")
    store.put(NODE, "b", b"2")
    store.put("other-node", "a", b"3")
    store.delete(NODE)
    assert (store.get(NODE, "a"), store.get(NODE, "b")) == (None, None)
    assert store.get("other-node", "a") == b"3"
    store.delete("never-had-secrets")
