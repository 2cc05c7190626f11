"""Opening renditions: only regular files under ARTWORK_DIR/art, described by their own fstat."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from artwork.files import ArtFiles, ArtNotFound, art_root_readable
from contract.layout import ArtName, rendition_name
from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import write_rendition

SQUARE = BUILTIN_PROFILES["square720"]


def test_a_rendition_opens_with_its_size_and_mtime(artwork_dir: Path):
    name = write_rendition(artwork_dir, SQUARE)
    path = artwork_dir / name.relpath

    rendition = ArtFiles(artwork_dir).open(name)
    with rendition.file:
        assert rendition.file.read() == path.read_bytes()
    assert rendition.size_bytes == path.stat().st_size
    assert rendition.mtime_seconds == path.stat().st_mtime


def test_a_missing_rendition_is_not_found(artwork_dir: Path):
    with pytest.raises(ArtNotFound):
        ArtFiles(artwork_dir).open(rendition_name("never-rendered", SQUARE))


def test_a_symlinked_rendition_is_refused_even_inside_the_volume(artwork_dir: Path, tmp_path: Path):
    secret = tmp_path / "secret.bmp"
    secret.write_bytes(b"BM not for clients")
    name = rendition_name("linked", SQUARE)
    link = artwork_dir / name.relpath
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)

    with pytest.raises(ArtNotFound):
        ArtFiles(artwork_dir).open(name)


def test_a_symlinked_fan_out_directory_is_refused(artwork_dir: Path, tmp_path: Path):
    name = rendition_name("linked-dir", SQUARE)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / name.filename).write_bytes(b"BM outside")
    (artwork_dir / "art").mkdir()
    (artwork_dir / "art" / name.hash[:2]).symlink_to(outside, target_is_directory=True)

    with pytest.raises(ArtNotFound):
        ArtFiles(artwork_dir).open(name)


def test_a_fifo_under_a_valid_name_is_refused_without_blocking(artwork_dir: Path):
    name = rendition_name("fifo", SQUARE)
    path = artwork_dir / name.relpath
    path.parent.mkdir(parents=True)
    os.mkfifo(path)

    with pytest.raises(ArtNotFound):
        ArtFiles(artwork_dir).open(name)


def test_a_directory_under_a_valid_name_is_refused(artwork_dir: Path):
    name = rendition_name("dir", SQUARE)
    (artwork_dir / name.relpath).mkdir(parents=True)

    with pytest.raises(ArtNotFound):
        ArtFiles(artwork_dir).open(name)


def test_the_art_root_must_be_a_real_readable_directory(artwork_dir: Path, tmp_path: Path):
    assert not art_root_readable(artwork_dir)  # not created yet

    (artwork_dir / "art").mkdir()
    assert art_root_readable(artwork_dir)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (artwork_dir / "art").rmdir()
    (artwork_dir / "art").symlink_to(elsewhere, target_is_directory=True)
    assert not art_root_readable(artwork_dir)


def _read(files: ArtFiles, name: ArtName) -> bytes:
    rendition = files.open(name)
    with rendition.file:
        return rendition.file.read()


def test_a_rendition_written_after_the_volume_was_emptied_and_rebuilt_is_served(artwork_dir: Path):
    files = ArtFiles(artwork_dir)
    first = write_rendition(artwork_dir, SQUARE, "first")
    assert _read(files, first)  # the directories are now held open

    shutil.rmtree(artwork_dir / "art")
    later = write_rendition(artwork_dir, SQUARE, "later")

    assert _read(files, later) == (artwork_dir / later.relpath).read_bytes()
    with pytest.raises(ArtNotFound):
        files.open(first)


def test_a_renamed_art_directory_is_not_served_from_any_more(artwork_dir: Path):
    files = ArtFiles(artwork_dir)
    name = write_rendition(artwork_dir, SQUARE, "moved")
    assert _read(files, name)

    (artwork_dir / "art").rename(artwork_dir / "art.old")
    fresh = write_rendition(artwork_dir, SQUARE, "fresh")

    assert _read(files, fresh) == (artwork_dir / fresh.relpath).read_bytes()
    with pytest.raises(ArtNotFound):
        files.open(name)


def test_a_fan_out_directory_replaced_by_a_symlink_after_use_is_refused(artwork_dir: Path, tmp_path: Path):
    files = ArtFiles(artwork_dir)
    name = write_rendition(artwork_dir, SQUARE, "swapped")
    assert _read(files, name)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / name.filename).write_bytes(b"BM outside")
    fanout = artwork_dir / "art" / name.hash[:2]

    shutil.rmtree(fanout)
    fanout.symlink_to(outside, target_is_directory=True)

    with pytest.raises(ArtNotFound):
        files.open(name)


def test_open_directories_are_one_per_directory_and_released_on_close(artwork_dir: Path):
    files = ArtFiles(artwork_dir)
    names = [write_rendition(artwork_dir, SQUARE, f"source-{i}") for i in range(40)]
    before = len(os.listdir("/proc/self/fd"))

    for _ in range(5):
        for name in names:
            assert _read(files, name)

    fanouts = len({name.hash[:2] for name in names})
    assert len(os.listdir("/proc/self/fd")) - before == fanouts + 1  # and the art directory
    files.close()
    assert len(os.listdir("/proc/self/fd")) == before
