"""Reading job logs like `tail`: the last lines of big files, unfinished lines, truncation, rotation."""

from blockvisor_core.cli.logs import BLOCK_BYTES, LogFile


def test_last_lines_of_a_file_bigger_than_a_block(tmp_path):
    path = tmp_path / "logs"
    line = "x" * 99 + "\n"
    path.write_text(line * (3 * BLOCK_BYTES // len(line)) + "last\n")
    log = LogFile("job", path)
    assert log.last_lines(2, keep_open=False) == ["x" * 99, "last"]
    assert len(log.last_lines(1000, keep_open=False)) == 1000


def test_an_unfinished_last_line(tmp_path):
    path = tmp_path / "logs"
    path.write_text("one\ntwo\nthr")
    assert LogFile("job", path).last_lines(2, keep_open=False) == ["two", "thr"]
    followed = LogFile("job", path)
    assert followed.last_lines(2, keep_open=True) == ["one", "two"]
    with path.open("a") as file:
        file.write("ee\nfour")
    assert followed.new_lines() == ["three"]
    followed.close()


def test_a_missing_file_is_followed_once_it_appears(tmp_path):
    log = LogFile("job", tmp_path / "logs")
    assert log.last_lines(10, keep_open=True) == []
    assert log.new_lines() == []
    (tmp_path / "logs").write_text("hello\n")
    assert log.new_lines() == ["hello"]
    log.close()


def test_a_truncated_file_is_read_from_its_start(tmp_path):
    path = tmp_path / "logs"
    path.write_text("a long first line\n")
    log = LogFile("job", path)
    log.last_lines(1, keep_open=True)
    path.write_text("new\n")
    assert log.new_lines() == ["new"]
    log.close()


def test_a_rotated_file_is_finished_then_the_new_one_read(tmp_path):
    path = tmp_path / "logs"
    path.write_text("old 1\n")
    log = LogFile("job", path)
    log.last_lines(0, keep_open=True)
    with path.open("a") as file:
        file.write("old 2\nold 3 unfinished")
    path.rename(tmp_path / ".logs.rotating")
    path.write_text("new 1\n")
    assert log.new_lines() == ["old 2", "old 3 unfinished", "new 1"]
    log.close()
