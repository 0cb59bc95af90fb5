"""``GET|PUT /uploads/{sha256}``: rasters rendered by the plugin (layers the backend cannot read itself)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/uploads/{digest}")
def get_upload(digest: str) -> dict:
    """Whether the backend holds the raster with this SHA-256 (so a client need not send it again)."""
    from ...raster.uploads import describe_upload

    return describe_upload(digest)


@router.put("/uploads/{digest}", status_code=201)
async def put_upload(digest: str, request: Request) -> dict:
    """Receive a rendered raster (a GeoTIFF as the raw body, named by its SHA-256); use the answer's
    ``raster`` ("upload:<sha256>") in later requests."""
    from ...raster.uploads import UploadWriter, check_digest

    digest = check_digest(digest)
    writer = UploadWriter()
    try:
        async for chunk in request.stream():
            writer.write(chunk)  # refuses a body past the limit, with or without Content-Length
        # hashing is done; GDAL's check and the rename run off the event loop
        return await asyncio.to_thread(writer.finish, digest)
    except BaseException:
        writer.abort()
        raise
