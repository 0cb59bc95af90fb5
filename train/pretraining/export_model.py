"""Turn an open_clip_train checkpoint into the backend's weights file.

    python -m train.export_model RUNS/NAME/checkpoints/epoch_8.pt -o resources/models/remoteclip-qgis-small.pt \\
        --drop-packaged-text --half

The trainer saves ``{"epoch", "name", "state_dict", "optimizer"}`` with DDP's ``module.`` prefix when
distributed; the backend wants a plain state dict. Dropping the packaged text tower (its weights come
from the installed all-MiniLM-L6-v2 package) and storing float16 keeps the shipped file small.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

from backend.errors import UserError
from backend.models.factory import PACKAGED_TEXT_PREFIX, load_checkpoint


def export_checkpoint(checkpoint: str | Path, out: str | Path, drop_packaged_text: bool = False,
                      half: bool = False) -> Path:
    """Write the plain (optionally float16, optionally text-tower-less) state dict atomically."""
    state = load_checkpoint(Path(checkpoint), key_prefix="module.")
    if drop_packaged_text:
        state = {k: v for k, v in state.items() if not k.startswith(PACKAGED_TEXT_PREFIX)}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.export_model", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a checkpoint written by open_clip_train (epoch_N.pt)")
    p.add_argument("-o", "--output", required=True, help="weights file for the backend")
    p.add_argument("--drop-packaged-text", action="store_true",
                   help="leave out the text transformer (for models whose registry entry has packaged_text_tower)")
    p.add_argument("--half", action="store_true", help="store float16 (halves the file)")
    args = p.parse_args(argv)
    try:
        out = export_checkpoint(args.checkpoint, args.output, args.drop_packaged_text, args.half)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
