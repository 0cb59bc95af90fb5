"""Device selection: this test machine has no GPU."""

from __future__ import annotations

import pytest
import torch

from backend.errors import UserError
from backend.models.devices import default_dtype, select_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
no_gpu = pytest.mark.skipif(
    torch.cuda.is_available() or torch.backends.mps.is_available(), reason="a GPU is present"
)


@no_gpu
@pytest.mark.parametrize("requested", [None, "auto", "AUTO", " auto "])
def test_auto_is_cpu_without_gpu(requested):
    assert select_device(requested) == torch.device("cpu")


@pytest.mark.parametrize("requested", ["cpu", "CPU", "cpu "])
def test_cpu(requested):
    assert select_device(requested) == torch.device("cpu")


@no_cuda
@pytest.mark.parametrize("requested", ["cuda", "cuda:1", "cuda:0"])
def test_cuda_unavailable_is_one_line_user_error(requested):
    with pytest.raises(UserError) as err:
        select_device(requested)
    msg = str(err.value)
    assert "\n" not in msg and requested in msg and "--device cpu" in msg


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is present")
def test_mps_unavailable():
    with pytest.raises(UserError, match="MPS"):
        select_device("mps")


@pytest.mark.parametrize("requested", ["gpu", "tpu:0", "meta", "cuda:x"])
def test_unknown_or_unsupported(requested):
    with pytest.raises(UserError) as err:
        select_device(requested)
    assert "\n" not in str(err.value)


def test_default_dtype():
    assert default_dtype(torch.device("cpu")) == torch.float32
    assert default_dtype(torch.device("cuda")) == torch.float16
    assert default_dtype(torch.device("mps")) == torch.float16
