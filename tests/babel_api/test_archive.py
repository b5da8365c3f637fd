"""Archive types keep the original's JSON shapes: manifests, chunks, checksums, upload slots."""

import pytest

from babel_api.archive import (
    Checksum,
    Chunk,
    DownloadManifest,
    DownloadMetadata,
    FileLocation,
    Slot,
    UploadSlots,
)
from babel_api.models import Compression
from babel_api.shapes import ShapeError

EMPTY_BLAKE3 = bytes.fromhex("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")


def round_trips(cls, plain, obj):
    assert cls.from_json(plain) == obj
    assert obj.to_json() == plain


def test_file_location():
    round_trips(FileLocation, {"path": "a/b.file", "pos": 10, "size": 20}, FileLocation("a/b.file", 10, 20))


@pytest.mark.parametrize(("kind", "size"), [("sha1", 20), ("sha256", 32), ("blake3", 32)])
def test_checksum_kinds_and_lengths(kind, size):
    digest = bytes(range(size))
    round_trips(Checksum, {kind: list(digest)}, getattr(Checksum, kind)(digest))
    with pytest.raises(ShapeError) as info:
        Checksum.from_json({kind: list(range(size - 1))})
    assert str(info.value) == f"{kind}: expected exactly {size} bytes, got {size - 1}"
    with pytest.raises(ValueError, match=f"a {kind} digest has {size} bytes, got 3"):
        Checksum(kind, b"abc")


def test_checksum_errors():
    with pytest.raises(ShapeError) as info:
        Checksum.from_json({"md5": [0] * 16})
    assert str(info.value) == "expected a map with one of sha1, sha256, blake3, got a map with key md5"
    with pytest.raises(ShapeError) as info:
        Checksum.from_json({"sha1": [0] * 19 + [256]})
    assert str(info.value) == "sha1[19]: expected a byte (0 to 255), got 256"


def chunk_json(index=0, url=None):
    return {
        "index": index,
        "key": f"chunk_{index}",
        "url": url,
        "checksum": {"blake3": list(EMPTY_BLAKE3)},
        "size": 0,
        "destinations": [
            {"path": "empty.file", "pos": 0, "size": 0},
            {"path": "other.file", "pos": 0, "size": 0},
        ],
    }


def chunk(index=0, url=None):
    return Chunk(
        index=index,
        key=f"chunk_{index}",
        url=url,
        checksum=Checksum.blake3(EMPTY_BLAKE3),
        size=0,
        destinations=[FileLocation("empty.file", 0, 0), FileLocation("other.file", 0, 0)],
    )


def test_chunk_url_is_optional():
    round_trips(Chunk, chunk_json(), chunk())
    round_trips(Chunk, chunk_json(url="http://store/x?sig=1"), chunk(url="http://store/x?sig=1"))
    plain = chunk_json()
    del plain["url"]
    assert Chunk.from_json(plain) == chunk()


def test_chunk_errors_name_the_place():
    plain = chunk_json()
    plain["destinations"][1]["pos"] = -1
    with pytest.raises(ShapeError) as info:
        Chunk.from_json(plain)
    assert info.value.path == "destinations[1].pos"


def test_download_manifest():
    plain = {"total_size": 924, "compression": {"ZSTD": 5}, "chunks": [chunk_json(0), chunk_json(1)]}
    manifest = DownloadManifest(total_size=924, compression=Compression.zstd(5), chunks=[chunk(0), chunk(1)])
    round_trips(DownloadManifest, plain, manifest)
    round_trips(
        DownloadManifest,
        {"total_size": 0, "compression": None, "chunks": []},
        DownloadManifest(total_size=0, chunks=[]),
    )
    text = repr(manifest)
    assert "chunk_0" in text
    assert "chunk_1" not in text
    assert text.endswith("(2 chunks))")


def test_download_metadata():
    plain = {"total_size": 924, "compression": None, "chunks": 2, "data_version": 1}
    round_trips(DownloadMetadata, plain, DownloadMetadata(total_size=924, chunks=2, data_version=1))


def test_upload_slots():
    plain = {"slots": [{"index": 0, "key": "k0", "url": "http://u0"}], "data_version": 3}
    round_trips(UploadSlots, plain, UploadSlots([Slot(0, "k0", "http://u0")], 3))


def test_upload_slots_need_at_least_one_slot():
    with pytest.raises(ShapeError) as info:
        UploadSlots.from_json({"slots": [], "data_version": 3})
    assert str(info.value) == "corrupted manifest - expected at least one slot"
    with pytest.raises(ValueError, match="corrupted manifest - expected at least one slot"):
        UploadSlots([], 3)
