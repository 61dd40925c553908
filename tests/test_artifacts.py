from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pytest

from avorelo_gate.proof import artifacts
from avorelo_gate.proof.artifacts import (
    ArtifactError,
    ArtifactMissing,
    file_nonempty,
    log_matches,
    log_requirement,
    read_capped,
    resolve_artifact,
    sha256_file,
    validate_needle,
)
from avorelo_gate.task.schema import validate_artifact_pattern

needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")


@pytest.fixture
def top(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "junit.xml").write_text("<testsuite/>")
    return root


@pytest.mark.parametrize(("rel", "reason"), [
    ("", "empty path"),
    ("  ", "empty path"),
    ("/etc/passwd", "absolute path"),
    ("//server/share/x", "absolute path"),
    ("C:/Windows/win.ini", "drive letter"),
    ("c:x", "drive letter"),
    ("reports\\junit.xml", "backslash"),
    ("../outside.txt", "'..' component"),
    ("reports/../../x", "'..' component"),
    ("reports/..", "'..' component"),
    ("a\nb", "control character"),
    ("a\x00b", "control character"),
])
def test_validate_artifact_pattern_refuses(rel: str, reason: str) -> None:
    found = validate_artifact_pattern(rel)
    assert found is not None and reason in found


@pytest.mark.parametrize("rel", ["reports/junit.xml", "./build.log", "a/b/c..d.txt", "..x"])
def test_validate_artifact_pattern_accepts(rel: str) -> None:
    assert validate_artifact_pattern(rel) is None


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "reports\\junit.xml", ""])
def test_resolve_artifact_refuses_static(top: Path, rel: str) -> None:
    with pytest.raises(ArtifactError) as info:
        resolve_artifact(str(top), rel)
    assert not isinstance(info.value, ArtifactMissing)


def test_resolve_artifact_regular_file(top: Path) -> None:
    assert resolve_artifact(str(top), "reports/junit.xml") == os.path.realpath(
        top / "reports" / "junit.xml")
    assert resolve_artifact(str(top), "./reports//junit.xml").endswith("junit.xml")


@needs_symlinks
def test_resolve_artifact_symlink_file_outside(tmp_path: Path, top: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    (top / "reports" / "leak.xml").symlink_to(secret)
    with pytest.raises(ArtifactError, match="symlink points outside the repository"):
        resolve_artifact(str(top), "reports/leak.xml")


@needs_symlinks
def test_resolve_artifact_symlink_dir_outside(tmp_path: Path, top: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "junit.xml").write_text("<testsuite/>")
    (top / "out").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ArtifactError, match="outside the repository"):
        resolve_artifact(str(top), "out/junit.xml")


@needs_symlinks
def test_resolve_artifact_dangling_symlink_outside(tmp_path: Path, top: Path) -> None:
    (top / "gone.log").symlink_to(tmp_path / "not-there.log")
    with pytest.raises(ArtifactError, match="outside the repository"):
        resolve_artifact(str(top), "gone.log")


@needs_symlinks
def test_resolve_artifact_symlink_inside(top: Path) -> None:
    (top / "latest.xml").symlink_to(Path("reports") / "junit.xml")
    real = resolve_artifact(str(top), "latest.xml")
    assert real == os.path.realpath(top / "reports" / "junit.xml")


@needs_symlinks
def test_resolve_artifact_toplevel_through_symlink(tmp_path: Path, top: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(top, target_is_directory=True)
    assert resolve_artifact(str(alias), "reports/junit.xml") == os.path.realpath(
        top / "reports" / "junit.xml")


def test_resolve_artifact_directory(top: Path) -> None:
    with pytest.raises(ArtifactError, match="not a regular file") as info:
        resolve_artifact(str(top), "reports")
    assert not isinstance(info.value, ArtifactMissing)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_resolve_and_read_fifo_refused_without_blocking(top: Path) -> None:
    os.mkfifo(top / "pipe.log")
    with pytest.raises(ArtifactError, match="not a regular file"):
        resolve_artifact(str(top), "pipe.log")
    with pytest.raises(ArtifactError, match="not a regular file"):
        read_capped(str(top / "pipe.log"), 10)


@pytest.mark.parametrize("rel", ["reports/missing.xml", "nodir/junit.xml",
                                 "reports/junit.xml/child"])
def test_resolve_artifact_missing(top: Path, rel: str) -> None:
    with pytest.raises(ArtifactMissing, match="no such file"):
        resolve_artifact(str(top), rel)


@needs_symlinks
def test_resolve_artifact_dangling_symlink_inside_is_missing(top: Path) -> None:
    (top / "latest.xml").symlink_to("reports/not-yet.xml")
    with pytest.raises(ArtifactMissing):
        resolve_artifact(str(top), "latest.xml")


@pytest.mark.parametrize("size", [0, 1, 6, 7, 8, 100])
def test_sha256_file_matches_hashlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     size: int) -> None:
    monkeypatch.setattr(artifacts, "CHUNK_SIZE", 7)
    path = tmp_path / "blob.bin"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    assert sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


def test_sha256_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing):
        sha256_file(str(tmp_path / "nope"))


def test_read_capped(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_bytes(b"0123456789")
    assert read_capped(str(path), 10) == b"0123456789"
    with pytest.raises(ArtifactError, match="larger than 9 bytes"):
        read_capped(str(path), 9)


def test_read_capped_checks_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.bin"
    with open(path, "wb") as f:
        f.truncate(8 * 1024**3)  # sparse: reading it would take seconds and 8 GiB
    start = time.process_time()   # CPU time: a loaded machine cannot stretch it
    with pytest.raises(ArtifactError, match="larger than 1024 bytes"):
        read_capped(str(path), 1024)
    assert time.process_time() - start < 1.0


def test_file_nonempty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    full = tmp_path / "full.log"
    full.write_bytes(b"\n")
    assert not file_nonempty(str(empty))
    assert file_nonempty(str(full))
    with pytest.raises(ArtifactMissing):
        file_nonempty(str(tmp_path / "nope"))
    with pytest.raises(ArtifactError, match="not a regular file"):
        file_nonempty(str(tmp_path))


def write_log(tmp_path: Path, data: bytes | str) -> str:
    path = tmp_path / "build.log"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


@pytest.mark.parametrize("offset", range(12))
def test_log_plain_needle_spans_chunk_boundary(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               offset: int) -> None:
    monkeypatch.setattr(artifacts, "CHUNK_SIZE", 8)
    # "BUILD OK" starts at every position around the first two chunk boundaries.
    log = write_log(tmp_path, "x" * offset + "BUILD OK" + "y" * 20)
    assert log_matches(log, "BUILD OK")
    assert not log_matches(log, "BUILD  OK")


def test_log_needle_longer_than_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "CHUNK_SIZE", 3)
    log = write_log(tmp_path, "noise " + "all 42 tests passed in 1.2s" + " noise")
    assert log_matches(log, "all 42 tests passed")


def test_log_non_ascii_needle_split_mid_character(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "CHUNK_SIZE", 5)
    log = write_log(tmp_path, "abcd✓ réussi ✓\nzz")
    assert log_matches(log, "✓ réussi")
    assert log_matches(log, "regex:réussi ✓$")


def test_log_regex_line_by_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "CHUNK_SIZE", 4)
    log = write_log(tmp_path, "start\r\n=== 12 passed, 0 failed ===\r\nfoo\nbar\nlast line")
    assert log_matches(log, r"regex:^=== \d+ passed, 0 failed ===$")
    assert log_matches(log, "regex:^last line$")  # no trailing newline
    assert log_matches(log, "regex:^foo$")
    assert not log_matches(log, r"regex:foo\sbar")  # never spans lines
    assert not log_matches(log, r"regex:\d+ failed, 1")


def test_log_regex_long_line_matched_in_pieces(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "CHUNK_SIZE", 16)
    monkeypatch.setattr(artifacts, "MAX_LINE_BYTES", 64)
    log = write_log(tmp_path, "z" * 1000 + "DONE" + "z" * 10 + "\nend\n")
    assert log_matches(log, "regex:DONE")
    assert log_matches(log, "regex:^end$")


def test_log_requirement_must_not_contain(tmp_path: Path) -> None:
    log = write_log(tmp_path, "compiling\nwarning: unused\nBUILD OK\n")
    missing, forbidden = log_requirement(
        log, ["BUILD OK", "regex:^compil", "DEPLOYED"],
        ["error:", "regex:^warning:", "Traceback"])
    assert missing == ["DEPLOYED"]
    assert forbidden == ["regex:^warning:"]


def test_log_requirement_clean(tmp_path: Path) -> None:
    log = write_log(tmp_path, "BUILD OK\n")
    assert log_requirement(log, ["BUILD OK"], ["FAILED", "regex:(?i)error"]) == ([], [])
    assert log_requirement(log, [], []) == ([], [])


def test_log_requirement_stops_early(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with open(path, "wb") as f:
        f.write(b"BUILD OK\n")
        f.truncate(8 * 1024**3)  # sparse: scanning it all would take many seconds
    start = time.process_time()   # CPU time: a loaded machine cannot stretch it
    assert log_requirement(str(path), ["BUILD OK", "regex:^BUILD"], []) == ([], [])
    assert time.process_time() - start < 1.0


@pytest.mark.parametrize("needle", ["regex:(", "regex:[a-", "regex:a{2,1}"])
def test_log_invalid_regex(tmp_path: Path, needle: str) -> None:
    log = write_log(tmp_path, "x\n")
    with pytest.raises(ArtifactError, match="invalid regex") as info:
        log_requirement(log, ["x"], [needle])
    assert needle in str(info.value)
    assert validate_needle(needle) is not None


@pytest.mark.parametrize("needle", ["", "regex:"])
def test_log_empty_needle(tmp_path: Path, needle: str) -> None:
    with pytest.raises(ArtifactError, match="empty"):
        log_matches(write_log(tmp_path, "x"), needle)


def test_validate_needle_accepts() -> None:
    assert validate_needle("BUILD OK") is None
    assert validate_needle(r"regex:^\d+ passed$") is None


def test_log_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing):
        log_matches(str(tmp_path / "nope.log"), "x")
