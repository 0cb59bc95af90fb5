"""Building an open_clip model from a registry entry and its weights, ready for inference.

Models are created with ``open_clip.create_model(arch, pretrained=None)`` and the checkpoint is
loaded with ``open_clip.load_checkpoint`` (it unwraps ``{"state_dict": ...}``, strips ``module.``,
reshapes ``logit_scale``, drops stale ``position_ids`` and converts third-party layouts). What
open_clip cannot do stays here: every source (hub, local file, ``--weights``) ends in a one-line
:class:`UserError` for a broken, untrusted or wrong-architecture file; other key prefixes and
TorchScript archives are read here; a packaged text tower keeps the weights it was built with; and
the load is quiet (transformers' load report and progress bar, open_clip's "initialized partially").
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
import threading
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import UserError
from .devices import default_dtype, select_device
from .registry import ModelSpec, get_model_spec, register_arch_configs, resolve_weights

log = logging.getLogger(__name__)

# Set to 1 to load checkpoints that pickle Python objects other than tensors (arbitrary code can
# run while unpickling, so only for files you trust).
TRUST_ENV = "REMOTECLIP_TRUST_CHECKPOINTS"

# Entries OpenAI's TorchScript archives keep in their state dict that are not model weights.
_NON_WEIGHT_KEYS = ("input_resolution", "context_length", "vocab_size")
_TEXT_BATCH = 256
# A query's few phrases are encoded on one thread: a batch of 1 to 16 short texts is too small to split, and on
# the shared 2-core bench machine two threads took 120-870 ms for one phrase of the small model's MiniLM tower
# against 13-46 ms on one (every preemption of one thread stalls the other at the next barrier).
_FEW_TEXTS = 16
_THREADS_LOCK = threading.Lock()  # torch.set_num_threads also sets MKL's process-wide count: one change at a time


@contextlib.contextmanager
def text_threads(device: torch.device | str, n_texts: int) -> Iterator[None]:
    """Run a few texts' forward passes on one CPU thread (the OpenMP count is per thread; MKL's is restored);
    more than :data:`_FEW_TEXTS` texts, or a GPU, keep the threads as they are."""
    if torch.device(device).type != "cpu" or n_texts > _FEW_TEXTS:
        yield
        return
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@dataclass
class LoadedModel:
    """A model in eval mode on its device, with what callers need to feed it.

    ``image_size``/``mean``/``std`` describe the model's input: OpenAI CLIP preprocessing
    (bicubic resize to ``image_size``, then per-channel normalisation).
    """

    spec: ModelSpec
    weights_path: Path
    model: torch.nn.Module
    tokenizer: Callable
    device: torch.device
    dtype: torch.dtype
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    precision: str = "exact"  # "exact", "int8" (backend.models.fast_path), "openvino", "openvino-bf16" (.engines)

    @property
    def logit_scale(self) -> float:
        """The learned temperature, exponentiated (about 100 for CLIP models)."""
        return float(self.model.logit_scale.detach().float().exp().item())

    @property
    def embed_dim(self) -> int:
        """Length of the joint image/text embedding."""
        return _embed_dim(self.model)

    @property
    def identity(self) -> str:
        """Stable text for cache keys: changes when the weights file is replaced or edited.

        A fast-path precision is appended, so its stores never answer an exact request; "exact" adds
        nothing, so stores written before precisions existed stay valid.
        """
        base = _identity(self.spec, self.weights_path)
        return base if self.precision == "exact" else f"{base}|{self.precision}"

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """Embed ``N x 3 x image_size x image_size`` pixels that are already normalised (mean/std).

        Any float dtype on any device; returns L2-normalised float32 on the CPU, ``N x embed_dim``.
        """
        if pixels.ndim != 4 or pixels.shape[1] != 3:
            raise ValueError(f"expected N x 3 x H x W pixels, got shape {tuple(pixels.shape)}")
        if pixels.shape[0] == 0:
            return torch.empty(0, self.embed_dim, dtype=torch.float32)
        on_cuda = self.device.type == "cuda"
        with torch.inference_mode():
            x = pixels.to(device=self.device, dtype=self.dtype, non_blocking=True)
            if on_cuda:
                # cuDNN's fastest convolutions (the patch embedding, ResNet towers) want NHWC.
                x = x.contiguous(memory_format=torch.channels_last)
            # Autocast keeps reductions (layer norms, softmax) in float32 while matmuls run in half.
            with torch.autocast("cuda", dtype=self.dtype, enabled=on_cuda and self.dtype != torch.float32):
                features = self.model.encode_image(x)
            # Normalise in float32: fp16 norms are too coarse for cosine scores that get ranked.
            return F.normalize(features.float(), dim=-1).cpu()

    def tokenize(self, texts: str | Sequence[str]) -> torch.Tensor:
        """Token ids (``N x L``) of ``texts``, as the model's tokenizer pads them to its context length; for a
        text tower that masks padding (Hugging Face towers) the columns that are padding in every row are cut
        off. Its output is the same (the mask gives padding no weight), and a phrase of ~10 tokens costs a
        third of 32: all-MiniLM-L6-v2 on one thread, 10.3 ms for one padded phrase, 3.5 ms trimmed."""
        tokens = self.tokenizer(texts)
        pad_id = _masked_pad_id(self.model)
        if pad_id is None or tokens.shape[1] <= 1:
            return tokens
        used = (tokens != pad_id).any(dim=0).nonzero()
        last = int(used[-1]) + 1 if len(used) else 1
        return tokens[:, :last]

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed ``texts``; returns L2-normalised float32 on the CPU, ``N x embed_dim``."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return torch.empty(0, self.embed_dim, dtype=torch.float32)
        out = []
        with torch.inference_mode(), text_threads(self.device, len(texts)):
            for start in range(0, len(texts), _TEXT_BATCH):
                tokens = self.tokenize(texts[start:start + _TEXT_BATCH]).to(self.device)
                features = self.model.encode_text(tokens)
                out.append(F.normalize(features.float(), dim=-1).cpu())
        return torch.cat(out)


def _masked_pad_id(model: torch.nn.Module) -> int | None:
    """The padding token id of a text tower that masks padding out of attention and pooling (open_clip's
    Hugging Face towers), else None: CLIP's own text transformer adds a positional embedding of the full context
    length, so its inputs keep their padding."""
    text = getattr(model, "text", None)
    config = getattr(getattr(text, "transformer", None), "config", None)
    pad_id = getattr(config, "pad_token_id", None)
    return int(pad_id) if pad_id is not None and hasattr(text, "pooler") else None


def _embed_dim(model: torch.nn.Module) -> int:
    visual = getattr(model, "visual", None)
    dim = getattr(visual, "output_dim", None)
    if isinstance(dim, int):
        return dim
    projection = getattr(model, "text_projection", None)
    if isinstance(projection, torch.Tensor):
        return int(projection.shape[-1])
    dim = getattr(getattr(model, "text", None), "output_dim", None)  # Hugging Face text towers
    if isinstance(dim, int):
        return dim
    raise AttributeError("cannot tell this model's embedding size")


def _identity(spec: ModelSpec, weights_path: Path) -> str:
    real = os.path.realpath(weights_path)
    try:
        st = os.stat(real)
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime = -1, -1
    return f"{spec.name}|{spec.arch}|{real}|{size}|{mtime}"


# --------------------------------------------------------------------------- checkpoints


def _looks_like_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("constants.pkl") or "/code/" in n for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _torch_load(path: Path) -> Any:
    """torch.load with weights_only where possible; TorchScript archives (OpenAI's original CLIP
    files) go through torch.jit.load, which cannot run arbitrary pickled code either."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):
            if os.environ.get(TRUST_ENV) == "1":
                return torch.load(path, map_location="cpu", weights_only=False)
            raise UserError(
                f"checkpoint {path} contains Python objects besides tensors; if you trust the file, "
                f"set {TRUST_ENV}=1 to load it anyway"
            ) from None
        raise UserError(f"checkpoint {path} is not a readable PyTorch file") from None
    except Exception as exc:  # noqa: BLE001 - garbage input makes the unpickler fail in many ways
        if isinstance(exc, RuntimeError) and _looks_like_torchscript(path):
            try:
                return torch.jit.load(str(path), map_location="cpu")
            except Exception:  # noqa: BLE001 - any failure means an unreadable archive
                raise UserError(f"checkpoint {path} is a TorchScript archive that cannot be read") from None
        log.debug("torch.load(%s) failed: %r", path, exc)
        raise UserError(f"checkpoint {path} is not a readable PyTorch file") from None


def load_checkpoint(path: Path, key_prefix: str | None) -> dict[str, torch.Tensor]:
    """Read a state dict from ``path`` (PyTorch pickle, safetensors or TorchScript) onto the CPU.

    Unwraps training checkpoints (``{"state_dict": ...}``, as open_clip's trainer writes), strips
    ``key_prefix`` (e.g. ``"module."`` from DistributedDataParallel; a ``module.`` on every key is
    stripped anyway) and drops non-tensor entries. Unreadable files raise a one-line :class:`UserError`.
    For export and diagnosis; :func:`load_model` loads through open_clip.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file

            obj: Any = load_file(str(path), device="cpu")
        except Exception:  # noqa: BLE001 - safetensors raises its own error types
            raise UserError(f"checkpoint {path} is not a readable safetensors file") from None
    else:
        obj = _torch_load(path)

    if isinstance(obj, torch.jit.ScriptModule):
        obj = {k: v for k, v in obj.state_dict().items() if k not in _NON_WEIGHT_KEYS}
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise UserError(f"checkpoint {path} does not hold a model state dict")
    state = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not state:
        raise UserError(f"checkpoint {path} does not hold any model weights")
    if key_prefix:
        state = {k[len(key_prefix):] if k.startswith(key_prefix) else k: v for k, v in state.items()}
    if all(k.startswith("module.") for k in state):
        # Saved from a DistributedDataParallel wrapper without the registry saying so.
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _misfit(path: Path, spec: ModelSpec, model: torch.nn.Module) -> UserError:
    """The one-line error for a checkpoint that does not fit ``model``: counts and one example key.

    Reads the file again (only on this error path) so the counts cover every key; a file that cannot
    be read at all gets :func:`load_checkpoint`'s own one-line error instead.
    """
    state = load_checkpoint(path, spec.key_prefix)
    expected = model.state_dict()
    optional = PACKAGED_TEXT_PREFIX if spec.packaged_text_tower else None
    missing = [k for k in expected if k not in state and not (optional and k.startswith(optional))]
    unexpected = [k for k in state if k not in expected and not k.endswith("embeddings.position_ids")]
    # A one-element tensor of another rank (logit_scale 0-d vs 1-d) is reshaped on load, not mis-shaped.
    misshaped = [k for k in state if k in expected and state[k].shape != expected[k].shape
                 and not state[k].numel() == expected[k].numel() == 1]
    example = (missing or unexpected or misshaped or ["?"])[0]
    return UserError(
        f"checkpoint {path} does not fit {spec.arch}: {len(missing)} missing, {len(unexpected)} unexpected, "
        f"{len(misshaped)} mis-shaped keys, e.g. '{example}' (is it for another model?)"
    )


def _load_weights(model: torch.nn.Module, spec: ModelSpec, path: Path) -> None:
    """Load the checkpoint at ``path`` into ``model`` (every weight, or all but a packaged text tower).

    open_clip reads the file and massages its keys; it cannot strip prefixes other than ``module.``
    or read TorchScript archives with ``weights_only``, so those (and files open_clip fails on, to get
    the one-line reason) go through :func:`load_checkpoint` and a plain ``load_state_dict``.
    """
    import open_clip

    incompatible = None
    if spec.key_prefix in (None, "module."):
        try:
            with warnings.catch_warnings():
                # torch.load names TorchScript archives before refusing them under weights_only.
                warnings.filterwarnings("ignore", message=".*looks like a TorchScript archive")
                incompatible = open_clip.load_checkpoint(
                    model, str(path), strict=False, weights_only=os.environ.get(TRUST_ENV) != "1")
        except RuntimeError as exc:
            if "size mismatch" in str(exc):
                raise _misfit(path, spec, model) from None
        except Exception:  # noqa: BLE001 - unreadable input fails in many ways: load_checkpoint says which
            pass
    if incompatible is None:
        state = load_checkpoint(path, spec.key_prefix)
        state = {k: v for k, v in state.items() if not k.endswith("embeddings.position_ids")}
        try:
            incompatible = model.load_state_dict(state, strict=False)
        except RuntimeError:
            raise _misfit(path, spec, model) from None
    optional = PACKAGED_TEXT_PREFIX if spec.packaged_text_tower else None
    missing = [k for k in incompatible.missing_keys if not (optional and k.startswith(optional))]
    if missing or incompatible.unexpected_keys:
        raise _misfit(path, spec, model)


# --------------------------------------------------------------------------- building


# What open_clip logs on the root logger while a model is built and loaded, which is expected here:
# the towers are built without weights ("initialized randomly") or with only the packaged text
# tower's ("initialized partially"), and the checkpoint is loaded right after.
_OPEN_CLIP_NOISE = re.compile(r"No pretrained weights loaded|initialized partially")


class _DropOpenClipNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _OPEN_CLIP_NOISE.search(record.getMessage())


@contextlib.contextmanager
def _quiet_load() -> Iterator[None]:
    """Silence open_clip's and transformers' notes on building towers, for the load only.

    transformers prints a "BertModel LOAD REPORT" table (MiniLM's pooler weights, which CLIP does not
    use, are "UNEXPECTED") and a "Loading weights" progress bar when open_clip builds a Hugging Face
    text tower; its errors still show (verbosity ERROR). Other root-logger records pass.
    """
    flt = _DropOpenClipNoise()
    root = logging.getLogger()
    root.addFilter(flt)
    hf_logging = None
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging
    if hf_logging is not None:
        verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        root.removeFilter(flt)
        if hf_logging is not None:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()


def _uses_quick_gelu(spec: ModelSpec) -> bool:
    """OpenAI-trained weights need QuickGELU; open_clip's tag config says so, and with
    ``pretrained=None`` open_clip would not apply it for us."""
    if spec.source != "open_clip" or not spec.pretrained:
        return False
    import open_clip

    return bool((open_clip.get_pretrained_cfg(spec.arch, spec.pretrained) or {}).get("quick_gelu"))


PACKAGED_TEXT_PREFIX = "text.transformer."


def build_model(spec: ModelSpec, pretrained_towers: bool = False, pretrained_text: bool = False) -> torch.nn.Module:
    """A randomly initialised model of ``spec.arch`` on the CPU in float32.

    ``pretrained_towers`` loads default tower weights (e.g. the packaged MiniLM text tower), for
    training; inference skips them since the checkpoint replaces every weight.
    """
    import open_clip

    register_arch_configs()
    if open_clip.get_model_config(spec.arch) is None:
        raise UserError(f"model {spec.name} uses architecture '{spec.arch}', which open_clip does not know")
    with _quiet_load():
        try:
            return open_clip.create_model(
                spec.arch,
                pretrained=None,
                force_quick_gelu=_uses_quick_gelu(spec),
                pretrained_image=pretrained_towers,
                pretrained_text=pretrained_towers or pretrained_text,
            )
        except (OSError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise UserError(f"cannot build architecture {spec.arch} for {spec.name}: {first}") from None


def _preprocess(model: torch.nn.Module) -> tuple[int, tuple[float, float, float], tuple[float, float, float]]:
    import open_clip
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    cfg = open_clip.get_model_preprocess_cfg(model)
    size = cfg.get("size") or getattr(model.visual, "image_size", 224)
    if isinstance(size, (tuple, list)):
        if len(set(size)) != 1:
            raise UserError(f"non-square model input {tuple(size)} is not supported")
        size = size[0]
    mean = tuple(float(v) for v in (cfg.get("mean") or OPENAI_DATASET_MEAN))
    std = tuple(float(v) for v in (cfg.get("std") or OPENAI_DATASET_STD))
    return int(size), mean, std  # type: ignore[return-value]


def load_model(name: str, weights: str | None = None, device: str | None = None,
               precision: str | None = None) -> LoadedModel:
    """Load registry model ``name`` for inference.

    ``weights`` overrides where the checkpoint comes from; ``device`` is as for
    :func:`~backend.models.devices.select_device`. Runs in float16 on GPUs, float32 on the CPU.
    ``precision`` "int8" (CPU only) quantises the image tower (see :mod:`backend.models.fast_path`);
    "openvino" and "openvino-bf16" (CPU only) run it in OpenVINO (:mod:`backend.models.engines`); None or
    "exact" keeps full precision.
    """
    import open_clip

    from .engines import ENGINE_PRECISIONS, openvino_image_tower
    from .fast_path import check_precision, quantize_image_tower

    spec = get_model_spec(name)
    dev = select_device(device)  # before the (possibly long) download, to fail early
    precision = check_precision(precision, dev)
    path = resolve_weights(spec, weights)
    model = build_model(spec, pretrained_text=spec.packaged_text_tower)
    with _quiet_load():
        _load_weights(model, spec, path)

    dtype = default_dtype(dev)
    model.to(device=dev, dtype=dtype)
    if dev.type == "cuda":
        model.visual.to(memory_format=torch.channels_last)  # matches encode_images' NHWC input
    model.eval()
    model.requires_grad_(False)
    size, mean, std = _preprocess(model)
    if precision == "int8":
        model = quantize_image_tower(model)
    elif precision in ENGINE_PRECISIONS:
        model = openvino_image_tower(model, size, precision)
    tokenizer = open_clip.get_tokenizer(spec.arch)
    log.info("loaded %s (%s) from %s on %s as %s", spec.name, spec.arch, path, dev, dtype)
    return LoadedModel(
        spec=spec, weights_path=path, model=model, tokenizer=tokenizer, device=dev, dtype=dtype,
        image_size=size, mean=mean, std=std, precision=precision,
    )


class ModelCache:
    """The last ``max_models`` loaded models, keyed by (name, weights, device), for the service.

    Loading takes seconds and gigabytes, so one lock serialises loads; a cached model whose
    weights file changed on disk is loaded again.
    """

    def __init__(self, max_models: int = 2) -> None:
        self.max_models = max(1, max_models)
        # value: the model and its identity when loaded, to notice a replaced weights file.
        self._models: OrderedDict[tuple[str, str | None, str, str], tuple[LoadedModel, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get_model(self, name: str, weights: str | None = None, device: str | None = None,
                  precision: str | None = None) -> LoadedModel:
        """The cached model, or a freshly loaded one (evicting the least recently used)."""
        dev = select_device(device)
        key = (name, os.path.abspath(os.path.expanduser(weights)) if weights else None, str(dev),
               precision or "exact")
        with self._lock:
            hit = self._models.get(key)
            if hit is not None and hit[0].identity == hit[1]:
                self._models.move_to_end(key)
                return hit[0]
            self._models.pop(key, None)
            loaded = load_model(name, weights=weights, device=str(dev), precision=precision)
            self._models[key] = (loaded, loaded.identity)
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
            return loaded

    def clear(self) -> None:
        """Forget every cached model (frees their memory once no job holds them)."""
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)


default_cache = ModelCache()


def get_model(name: str, weights: str | None = None, device: str | None = None,
              precision: str | None = None) -> LoadedModel:
    """:meth:`ModelCache.get_model` on the process-wide :data:`default_cache`."""
    return default_cache.get_model(name, weights, device, precision)
