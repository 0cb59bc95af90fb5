"""Pretraining with open_clip's own trainer: ``python -m train.pretrain CONFIG [--set KEY=VALUE ...]``.

A config is a JSON object of open_clip_train options (``"batch_size": 256`` becomes ``--batch-size 256``;
``true`` becomes a bare flag; lists become several values). The backend's architecture configs are
registered first, so the project's own architectures train like open_clip's. The same command runs
in-process on one device or under torchrun on many GPUs and nodes, where open_clip_train reads the
rank from the environment:

    torchrun --nproc_per_node 8 -m train.pretrain train/configs/remoteclip-vit-b-32.json
    torchrun --nnodes 4 --node_rank $RANK --master_addr $HOST --nproc_per_node 8 -m train.pretrain CONFIG

``--set resume=latest`` continues the newest checkpoint of the run named in the config.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from backend.errors import UserError

from ..command_line import run_cli

# Keys that are ours, not open_clip_train's: a description and where the numbers come from.
META_KEYS = {"description", "notes", "source"}


def placeholders() -> dict[str, str]:
    """``{data}``: prepared training data; ``{runs}``: logs and checkpoints; ``{repo}``: this repository."""
    from backend.config import cache_root

    root = cache_root()
    repo = Path(__file__).resolve().parents[2]
    return {"{data}": str(root / "data"), "{runs}": str(root / "runs"), "{repo}": str(repo)}


def expand(value: Any) -> Any:
    """Replace the placeholders in every string of a config value."""
    if isinstance(value, str):
        for key, real in placeholders().items():
            value = value.replace(key, real)
        return value
    if isinstance(value, list):
        return [expand(v) for v in value]
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    return value


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a JSON config; one clear line when it is missing or malformed."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"config {p} not found")
    try:
        cfg = json.loads(p.read_text())
    except ValueError as exc:
        raise UserError(f"config {p} is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise UserError(f"config {p} must be a JSON object of open_clip_train options")
    return cfg


def parse_override(text: str) -> tuple[str, Any]:
    """``"lr=1e-4"`` -> ("lr", 0.0001); values are JSON when they parse as JSON, else strings."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set takes KEY=VALUE, got '{text}'")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def config_to_argv(cfg: dict[str, Any]) -> list[str]:
    """open_clip_train's command line for a config (keys with ``_`` become ``--dashed-options``)."""
    argv: list[str] = []
    for key, value in cfg.items():
        if key in META_KEYS or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, list):
            argv += [flag, *(str(v) for v in value)]
        elif isinstance(value, dict):
            argv += [flag, *(f"{k}={v}" for k, v in value.items())]
        else:
            argv += [flag, str(value)]
    return argv


def check_options(argv: list[str]) -> None:
    """Refuse options open_clip_train does not know, before any data is read."""
    from open_clip_train.params import parse_args

    try:
        parse_args(argv)
    except SystemExit:
        raise UserError("the config has an option open_clip_train does not accept (see the message above)") from None


def allow_cpu_ddp() -> None:
    """Let open_clip_train wrap models in DDP on the CPU (gloo), as a torchrun test on a CPU machine needs.

    open_clip_train passes ``device_ids=[device]`` even when the device is the CPU, which DDP refuses;
    DDP wants no device ids for CPU modules. Only those calls are changed.
    """
    import torch

    ddp = torch.nn.parallel.DistributedDataParallel
    if getattr(ddp, "cpu_device_ids_dropped", False):
        return

    class CpuTolerantDDP(ddp):
        cpu_device_ids_dropped = True

        def __init__(self, module, device_ids=None, *args, **kwargs):
            if device_ids and all(torch.device(d).type == "cpu" for d in device_ids):
                device_ids = None
            super().__init__(module, device_ids, *args, **kwargs)

    torch.nn.parallel.DistributedDataParallel = CpuTolerantDDP


def keep_timm_norm_act() -> None:
    """Make ``lock_image_freeze_bn_stats`` keep timm's norm+activation layers whole.

    open_clip's ``freeze_batch_norm_2d`` swaps every ``BatchNorm2d`` for a plain ``FrozenBatchNorm2d``;
    timm's ``BatchNormAct2d`` (EfficientNet-Lite's BN + ReLU6) is a ``BatchNorm2d`` subclass, so the
    swap silently drops the activation, and the frozen layers lose their ``num_batches_tracked``
    entries, so the checkpoint no longer loads strictly. Instead the chosen BatchNorm layers are
    pinned in eval mode: running statistics stay the pretrained ones, the modules and the state
    dict stay as they were. Only the timm tower's calls are changed.
    """
    import types

    import torch
    from open_clip import timm_model

    if getattr(timm_model.freeze_batch_norm_2d, "pins_eval_mode", False):
        return

    def stay_in_eval(self, mode: bool = True):
        return self

    def pin_batch_norm_in_eval(module, module_match=None, name=""):
        for sub_name, sub in module.named_modules(prefix=name):
            chosen = not module_match or any(sub_name == m or sub_name.startswith(m + ".") for m in module_match)
            if chosen and isinstance(sub, torch.nn.modules.batchnorm._BatchNorm):
                sub.eval()
                sub.train = types.MethodType(stay_in_eval, sub)
        return module

    pin_batch_norm_in_eval.pins_eval_mode = True
    timm_model.freeze_batch_norm_2d = pin_batch_norm_in_eval


def run(cfg: dict[str, Any]) -> None:
    """Register the backend's architectures and hand the config to open_clip_train.main."""
    from backend.models.registry import register_arch_configs

    register_arch_configs()
    allow_cpu_ddp()
    keep_timm_norm_act()
    argv = config_to_argv(cfg)
    check_options(argv)
    from open_clip_train.main import main as train_main

    train_main(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.pretrain", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="JSON file of open_clip_train options")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set epochs=2 --set resume=latest")
    parser.add_argument("--print-args", action="store_true", help="print open_clip_train's arguments and stop")
    args = parser.parse_args(argv)

    def action() -> int:
        cfg = expand({**load_config(args.config), **dict(parse_override(item) for item in args.set)})
        if args.print_args:
            print(" ".join(config_to_argv(cfg)))
        else:
            run(cfg)
        return 0

    return run_cli(action)


if __name__ == "__main__":
    sys.exit(main())
