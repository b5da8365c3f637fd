"""The pieces of the transfer engine on their own: presigning, globs, layout, scan, zstd, checks, state."""

import concurrent.futures
import datetime
import json
import os

import pytest
import zstandard
from snapshot_support import location, write_tree

from babel_api.archive import Checksum, Chunk, FileLocation
from babel_api.models import Compression, JobProgress
from blockvisor_plugins.snapshots import sigv4
from blockvisor_plugins.snapshots.blueprint import LayoutError, build_destinations, chunk_count, lay_out
from blockvisor_plugins.snapshots.checksums import EMPTY
from blockvisor_plugins.snapshots.claims import Claims, ManifestError
from blockvisor_plugins.snapshots.coders import compressor, decoder
from blockvisor_plugins.snapshots.folder import DataFolder, UnsafePathError, relative
from blockvisor_plugins.snapshots.globs import Exclude, PatternError
from blockvisor_plugins.snapshots.progress import Progress
from blockvisor_plugins.snapshots.sources import Source, scan
from blockvisor_plugins.snapshots.state import ChunkList
from blockvisor_plugins.snapshots.writer import ChunkWriter, CorruptChunkError, Touched

SYNCER = concurrent.futures.ThreadPoolExecutor(2)

# The upload fixture of the spec (§7.2): total 275 bytes, one file excluded.
FIXTURE = {
    "empty_file": b"",
    "a": b"7 bytes",
    "d1/b": b"9   bytes",
    "d1/d2/c": b"333",
    "x": b"x" * 256,
    "sub_with_ignored/ignored_file": b"\x01" * 16,
}


def test_presigned_url_matches_the_aws_example():
    url = sigv4.presign(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        expires=86400,
        now=datetime.datetime(2013, 5, 24, tzinfo=datetime.UTC),
    )
    assert url.endswith("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    with pytest.raises(ValueError, match="expires after"):
        sigv4.presign("GET", "http://h/b/k", access_key="a", secret_key="s", region="r", expires=8 * 86400)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/ignored_*", "ignored_file", True),
        ("**/ignored_*", "a/b/ignored_file", True),
        ("*_ignored/ignored_*", "sub_with_ignored/ignored_file", True),
        ("*.log", "deep/down/x.log", True),  # `*` crosses `/`, as in the original
        ("a?c", "a/c", True),
        ("[!x]y", "ay", True),
        ("[!x]y", "xy", False),
        ("data/[0-9]*", "data/7/blob", True),
        ("tmp/**", "tmp/a/b", True),
        ("tmp/**", "tmpx/a", False),
    ],
)
def test_exclude_patterns_follow_the_original_glob_rules(pattern, path, matches):
    assert Exclude([pattern]).matches(path) is matches


@pytest.mark.parametrize("pattern", ["[", "a**", "**b", "x/[a"])
def test_invalid_exclude_patterns_are_errors(pattern):
    with pytest.raises(PatternError, match="invalid exclude pattern"):
        Exclude([pattern])


def test_sources_skip_excluded_files_links_and_specials_and_keep_empty_folders(tmp_path):
    write_tree(tmp_path, {**FIXTURE, "empty_dir/inner": None, "only_links": None})
    os.symlink("../a", tmp_path / "only_links/link")
    os.symlink("/etc/hostname", tmp_path / "link_out")
    os.symlink("a", tmp_path / "link_in")
    os.mkfifo(tmp_path / "fifo")
    sources = scan(tmp_path, Exclude(["*_ignored/ignored_*"]))
    assert sources == [
        Source("a", 7),
        Source("d1/b", 9),
        Source("d1/d2/c", 3),
        Source("empty_dir/inner/", 0),
        Source("empty_file", 0),
        Source("only_links/", 0),
        Source("x", 256),
    ]


def test_blueprint_of_two_slots(tmp_path):
    write_tree(tmp_path, FIXTURE)
    manifest = lay_out(scan(tmp_path, Exclude(["**/ignored_*"])), 2, None, "/data")
    assert manifest.total_size == 275
    assert [chunk.destinations for chunk in manifest.chunks] == [
        [location("/data/x", 0, 137)],
        [
            location("/data/x", 137, 119),
            location("/data/empty_file", 0, 0),
            location("/data/d1/d2/c", 0, 3),
            location("/data/d1/b", 0, 9),
            location("/data/a", 0, 7),
        ],
    ]
    assert all(chunk.key == "" and chunk.size == 0 and chunk.url is None for chunk in manifest.chunks)
    assert manifest.chunks[0].checksum == Checksum.sha1(bytes(20))


def test_blueprint_of_three_slots_gives_the_remainder_to_the_last(tmp_path):
    write_tree(tmp_path, FIXTURE)
    manifest = lay_out(scan(tmp_path, Exclude(["**/ignored_*"])), 3, None, "/d")
    sizes = [sum(place.size for place in chunk.destinations) for chunk in manifest.chunks]
    assert sizes == [91, 91, 93]


def test_build_destinations_consumes_sources_from_the_end():
    sources = [
        location("f", 0, 0),
        location("e", 0, 77),
        location("d", 0, 2048),
        location("c", 0, 512),
        location("b", 0, 0),
        location("a", 0, 0),
    ]
    assert build_destinations(sources, 1024) == [
        location("a", 0, 0),
        location("b", 0, 0),
        location("c", 0, 512),
        location("d", 0, 512),
    ]
    assert sources == [location("f", 0, 0), location("e", 0, 77), location("d", 512, 1536)]
    assert build_destinations(sources, 1536) == [location("d", 512, 1536)]
    assert build_destinations(sources, 1024) == [location("e", 0, 77), location("f", 0, 0)]
    assert sources == []


def test_chunk_count_is_clamped_to_the_data():
    assert chunk_count(1_200_000_000, None, 500_000_000) == 3
    assert chunk_count(10, 50, 500_000_000) == 10
    assert chunk_count(0, 5, 500_000_000) == 1
    with pytest.raises(LayoutError, match="invalid number of chunks"):
        chunk_count(10, 0, 500_000_000)


def test_more_chunks_than_bytes_loses_nothing(tmp_path):
    write_tree(tmp_path, {"a": b"abc", "b": b"", "c": b"de"})
    manifest = lay_out(scan(tmp_path, Exclude([])), chunk_count(5, 1000, 10**9), None, "/d")
    assert len(manifest.chunks) == 5
    assert sum(place.size for chunk in manifest.chunks for place in chunk.destinations) == 5


def test_zstd_frames_are_the_originals():
    stream = compressor(Compression.zstd(3), threads=0).compressobj()
    assert stream.compress(b"\x07" * 1017) == b""
    assert stream.flush() == bytes.fromhex("28B52FFD00584D000010070701 00F42B8005".replace(" ", ""))


def test_zstd_streaming_round_trip_in_small_pieces():
    data = b"\x00" + b"".join(bytes([value]) * 34567 for value in range(1, 15))
    stream = compressor(Compression.zstd(5), threads=0).compressobj()
    frame = b"".join(stream.compress(data[i : i + 512]) for i in range(0, len(data), 512)) + stream.flush()

    class Sink:
        def __init__(self):
            self.pieces = []

        def write(self, piece):
            self.pieces.append(bytes(piece))
            return len(piece)

    sink = Sink()
    decoding = decoder(Compression.zstd(5), sink, piece_size=4096)
    for i in range(0, len(frame), 512):
        decoding.write(frame[i : i + 512])
    assert b"".join(sink.pieces) == data
    assert max(map(len, sink.pieces)) <= 4096
    assert decoder(None, sink, 4096) is sink


def test_multithreaded_frames_decode_alike():
    data = os.urandom(1000) * 3000
    stream = compressor(Compression.zstd(3), threads=2).compressobj()
    frame = (
        b"".join(stream.compress(data[i : i + 65536]) for i in range(0, len(data), 65536)) + stream.flush()
    )
    assert zstandard.ZstdDecompressor().decompressobj().decompress(frame) == data


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../etc/passwd", "'..'"),
        ("a/../../b", "'..'"),
        ("/etc/passwd", "absolute"),
        ("", "not a path"),
        (".", "itself"),
    ],
)
def test_paths_leaving_the_data_folder_are_refused(path, problem):
    with pytest.raises(UnsafePathError, match=problem):
        relative(path)


def test_relative_paths_are_normalised():
    assert relative("a//./b") == "a/b"
    assert relative("dir/") == "dir/"


def _chunk(index, *places, key="k"):
    return Chunk(index=index, key=key, checksum=EMPTY, size=1, destinations=[location(*p) for p in places])


def test_claims_refuse_overlaps_within_and_across_chunks():
    claims = Claims(1000)
    claims.add(_chunk(0, ("a", 0, 100), ("b", 0, 5)))
    with pytest.raises(ManifestError, match=r"chunk 1 and chunk 0 both write bytes 50\.\.100 of 'a'"):
        claims.add(_chunk(1, ("a", 50, 100)))
    with pytest.raises(ManifestError, match=r"chunk 2 writes bytes 10\.\.20 of 'c' twice"):
        claims.add(_chunk(2, ("c", 0, 20), ("c", 10, 20)))
    with pytest.raises(ManifestError, match=r"chunk 3 and chunk 0 both write bytes 0\.\.5 of 'b'"):
        claims.add(_chunk(3, ("./b", 0, 5)))
    claims.add(_chunk(4, ("a", 100, 100), ("empty", 0, 0), ("empty", 0, 0)))
    claims.add(_chunk(4, ("a", 100, 100), ("empty", 0, 0), ("empty", 0, 0)))
    with pytest.raises(ManifestError, match="changed its destinations"):
        claims.add(_chunk(4, ("a", 100, 99)))
    with pytest.raises(ManifestError, match="expected at least one destination"):
        claims.add(_chunk(5))
    with pytest.raises(ManifestError, match="more than total_size 1000"):
        claims.add(_chunk(6, ("big", 0, 900)))


def test_writer_maps_decoded_bytes_onto_files_and_checks_their_length(tmp_path):
    with DataFolder(tmp_path) as folder:
        places = [location("a", 0, 3), location("e", 0, 0), location("dir/", 0, 0), location("b", 2, 4)]
        writer = ChunkWriter(folder, Touched([]), places, SYNCER)
        writer.write(b"abcde")
        writer.write(b"fg")
        writer.finish()
        writer.close()
        assert (tmp_path / "a").read_bytes() == b"abc"
        assert (tmp_path / "b").read_bytes() == b"\0\0defg"
        assert (tmp_path / "e").read_bytes() == b""
        assert (tmp_path / "dir").is_dir()

        writer = ChunkWriter(folder, Touched([]), [location("c", 0, 3)], SYNCER)
        with pytest.raises(CorruptChunkError, match="more than 3 bytes"):
            writer.write(b"abcd")
        writer.close()
        writer = ChunkWriter(folder, Touched([]), [location("c", 0, 3), location("d", 0, 0)], SYNCER)
        writer.write(b"ab")
        with pytest.raises(CorruptChunkError, match="2 bytes of 3 declared"):
            writer.finish()
        writer.close()


def test_writer_truncates_a_file_only_the_first_time(tmp_path):
    (tmp_path / "stale").write_bytes(b"old content, longer")
    (tmp_path / "kept").write_bytes(b"12345")
    with DataFolder(tmp_path) as folder:
        touched = Touched(["kept"])
        for places, data in [([location("stale", 0, 3)], b"new"), ([location("stale", 3, 2)], b"er")]:
            writer = ChunkWriter(folder, touched, places, SYNCER)
            writer.write(data)
            writer.finish()
            writer.close()
        writer = ChunkWriter(folder, touched, [location("kept", 0, 2)], SYNCER)
        writer.write(b"ab")
        writer.finish()
        writer.close()
    assert (tmp_path / "stale").read_bytes() == b"newer"
    assert (tmp_path / "kept").read_bytes() == b"ab345"


def test_writer_never_follows_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(outside, data / "escape")
    os.symlink(outside / "file", data / "file_link")
    with DataFolder(data) as folder:
        for path in ("escape/file", "file_link"):
            writer = ChunkWriter(folder, Touched([]), [location(path, 0, 1)], SYNCER)
            with pytest.raises(UnsafePathError, match="symbolic link"):
                writer.write(b"x")
            writer.close()
    assert list(outside.iterdir()) == []


def test_chunk_list_drops_a_torn_last_line(tmp_path):
    chunks = ChunkList(tmp_path / "list")
    chunk = _chunk(0, ("a", 0, 1))
    chunks.append(chunk)
    with (tmp_path / "list").open("ab") as file:
        file.write(b'{"index": 1, "key": "tor')
    assert chunks.load() == [chunk]
    chunks.append(_chunk(2, ("b", 0, 1)))
    assert [c.index for c in chunks.load()] == [0, 2]
    lines = (tmp_path / "list").read_bytes().splitlines()
    assert json.loads(lines[0])["checksum"] == {"blake3": list(EMPTY.digest)}


def test_progress_counts_chunks_and_bytes_without_counting_a_restart_twice():
    reports = []
    progress = Progress(reports.append, chunks_total=4, chunks_done=1, bytes_total=400, bytes_done=100)
    progress.advance(1, 50)
    progress.restart(1)
    progress.advance(1, 100)
    progress.done(1, 100)
    written = JobProgress.from_json(json.loads(json.dumps(reports[-1].to_json())))
    assert (written.total, written.current, written.message) == (4, 2, "chunks")
    assert (written.bytes_total, written.bytes_current) == (400, 200)
    assert written.bytes_per_second >= 0


def test_file_location_paths_keep_their_form():
    assert FileLocation("d/", 0, 0).to_json() == {"path": "d/", "pos": 0, "size": 0}


def test_empty_files_after_a_full_chunk_join_it(tmp_path):
    write_tree(tmp_path, {"a": b"12345", "e1": b"", "e2": b"", "z": b"abcde"})
    manifest = lay_out(scan(tmp_path, Exclude([])), 2, None, "")
    assert [chunk.destinations for chunk in manifest.chunks] == [
        [location("/z", 0, 5), location("/e2", 0, 0), location("/e1", 0, 0)],
        [location("/a", 0, 5)],
    ]
