"""Raster names checked on the file system before GDAL opens them: subdataset names, links, folders, pipes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from backend.errors import NotFoundError, SymlinkLoopError, UserError
from backend.raster.sources import check_source, real_name, source_file, subdataset_file

from .. import raster_factory as rf


def test_subdataset_names_carry_their_file(tmp_path: Path) -> None:
    nc = tmp_path / "a b.nc"
    nc.write_bytes(b"x")
    assert subdataset_file(f'NETCDF:"{nc}":t2m') == str(nc)  # quoted: spaces kept
    assert subdataset_file(f"netcdf:{nc}:t2m") == str(nc)
    assert subdataset_file(f"HDF5:{nc}://group/var") == str(nc)  # '//' after the file's colon
    gpkg = tmp_path / "x.gpkg"
    gpkg.write_bytes(b"x")
    assert subdataset_file(f"GPKG:{gpkg}:table") == str(gpkg)
    assert subdataset_file(f"GPKG:{tmp_path / 'gone.gpkg'}:table") == str(tmp_path / "gone.gpkg")


def test_paths_are_never_subdataset_names(tmp_path: Path) -> None:
    odd = tmp_path / "A:b.tif"  # exists as it is: a path
    odd.write_bytes(b"x")
    assert subdataset_file(str(odd)) is None
    assert subdataset_file(str(tmp_path / "plain.tif")) is None
    assert subdataset_file(r"C:\data\x.tif") is None  # a Windows drive letter is no driver
    assert source_file(str(odd)) == str(odd)


def test_real_name_resolves_the_file_inside_a_subdataset_name(tmp_path: Path) -> None:
    nc = tmp_path / "w.nc"
    nc.write_bytes(b"x")
    link = tmp_path / "link.nc"
    link.symlink_to(nc)
    assert real_name(f'NETCDF:"{link}":rain') == f'NETCDF:"{nc}":rain'
    assert real_name(str(link)) == str(nc)


def test_a_symlink_loop_is_named_for_what_it_is(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(SymlinkLoopError) as exc:
        check_source(a)
    assert "symbolic link loop" in str(exc.value) and "not found" not in str(exc.value)
    assert isinstance(exc.value, OSError) and exc.value.errno == errno.ELOOP


def test_a_dangling_link_names_its_target(tmp_path: Path) -> None:
    link = tmp_path / "x.tif"
    link.symlink_to(tmp_path / "gone.tif")
    with pytest.raises(NotFoundError, match="symbolic link to .*gone.tif, which does not exist"):
        check_source(link)


@pytest.mark.parametrize("kind, message", [("folder", "is a folder"), ("fifo", "not a regular file"),
                                           ("missing", "raster not found")])
def test_things_that_are_no_file(tmp_path: Path, kind: str, message: str) -> None:
    path = tmp_path / "thing.tif"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    with pytest.raises(UserError, match=message):
        check_source(path)


def test_a_subdataset_of_a_missing_file_says_so(tmp_path: Path) -> None:
    name = f'NETCDF:"{tmp_path / "nope.nc"}":t2m'
    with pytest.raises(NotFoundError, match=r"raster not found: .*nope.nc \(named in the subdataset"):
        check_source(name)


def test_a_good_file_passes(tmp_path: Path) -> None:
    path = rf.write_raster(tmp_path / "ok.tif", np.zeros((1, 4, 4), "uint8"))
    assert check_source(path) == path
