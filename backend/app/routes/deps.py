"""What routes are given through ``Depends``: the app's workspace (models, rasters, open stores) and its jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..job_queue import Jobs
from ..orchestration import Workspace


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def jobs(request: Request) -> Jobs:
    return request.app.state.jobs


WorkspaceDep = Annotated[Workspace, Depends(workspace)]
JobsDep = Annotated[Jobs, Depends(jobs)]
