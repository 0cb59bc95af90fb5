"""Uploaded rasters: stored under their SHA-256, checked with GDAL, nothing half-received kept."""

from __future__ import annotations

import hashlib

import pytest

from backend.errors import NotFoundError, UserError
from backend.raster.uploads import (
    PREFIX,
    UploadTooLarge,
    UploadWriter,
    describe_upload,
    resolve_raster,
    uploads_folder,
)

from ..conftest import SAMPLE
from ..raster_factory import no_crs


def _chunks(data: bytes, size: int = 65536):
    return (data[i:i + size] for i in range(0, len(data), size))


def save_upload(chunks, expected_digest=None, max_bytes=None, root=None) -> dict:
    """What ``PUT /uploads/{sha256}`` does with a body: write the chunks, finish (hash and GDAL check), or
    abort on any failure."""
    writer = UploadWriter(max_bytes, root)
    try:
        for chunk in chunks:
            writer.write(chunk)
        return writer.finish(expected_digest)
    except BaseException:
        writer.abort()
        raise


def test_upload_is_stored_under_its_digest_and_resolves(tmp_path):
    data = SAMPLE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    answer = save_upload(_chunks(data), digest, root=tmp_path)
    assert answer["raster"] == PREFIX + digest
    assert (answer["width"], answer["height"], answer["bands"]) == (934, 723, 4)
    path = resolve_raster(answer["raster"], root=tmp_path)
    assert path.endswith(f"{digest}.tif") and open(path, "rb").read() == data
    assert describe_upload(digest, root=tmp_path)["bytes"] == len(data)
    assert [p.name for p in uploads_folder(tmp_path).iterdir()] == [f"{digest}.tif"]
    # a path is passed through untouched
    assert resolve_raster(str(SAMPLE), root=tmp_path) == str(SAMPLE)


@pytest.mark.parametrize("case", ["too_large", "wrong_digest", "not_a_raster", "empty", "no_crs"])
def test_bad_uploads_leave_nothing_behind(tmp_path, case):
    data = SAMPLE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    kwargs = {"root": tmp_path}
    if case == "too_large":
        kwargs["max_bytes"] = len(data) - 1
        expected, needle = UploadTooLarge, "MB"
    elif case == "wrong_digest":
        digest = "0" * 64
        expected, needle = UserError, "damaged in transit"
    elif case == "not_a_raster":
        data = b"<html>not a tiff</html>" * 100
        digest = hashlib.sha256(data).hexdigest()
        expected, needle = UserError, "not a raster GDAL can read"
    elif case == "empty":
        data, digest = b"", None
        expected, needle = UserError, "empty upload"
    else:
        data = no_crs(tmp_path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        expected, needle = UserError, "no coordinate reference system"
    with pytest.raises(expected, match=needle):
        save_upload(_chunks(data), digest, **kwargs)
    assert list(uploads_folder(tmp_path).iterdir()) == []


@pytest.mark.parametrize("name", ["upload:../../etc/passwd", "upload:abc", "upload:" + "g" * 64])
def test_upload_ids_cannot_name_other_files(tmp_path, name):
    with pytest.raises(UserError, match="not an upload id"):
        resolve_raster(name, root=tmp_path)


def test_unknown_upload_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="send the rendered raster again"):
        resolve_raster(PREFIX + "a" * 64, root=tmp_path)
