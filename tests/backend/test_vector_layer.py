"""Vector output: GeoPackage writing (atomic, several layers), field names, paths, GeoJSON."""

from __future__ import annotations

import os
from pathlib import Path

import fiona
import numpy as np
import pytest
from pyproj import CRS

from backend.errors import UserError
from backend.vector_layer import VectorLayer, check_output_path, field_name, geojson_rings_closed_helper  # noqa: F401
