"""Headless command line: ``python -m backend {models,embed,search,classify,count,similar,serve,demo}``.

Every user error prints one line (``error: ...``) and exits with status 2; an internal error prints one
line too and exits with 1 (``REMOTECLIP_DEBUG=1`` shows its traceback); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence

from ..errors import JobCancelled, UserError
from .progress import progress_bar

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_CANCELLED = 130
DEBUG_ENV = "REMOTECLIP_DEBUG"


def parse_tile_size(text: str | None) -> tuple[int | None, float | None]:
    """``"224"`` / ``"224px"`` -> (224 pixels, None); ``"300m"`` -> (None, 300 metres)."""
    if text is None:
        return None, None
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(px|m)?\s*", str(text))
    if not m:
        raise UserError(f"--tile-size must be pixels ('224', '224px') or metres on the ground ('300m'), got '{text}'")
    value, unit = float(m.group(1)), m.group(2) or "px"
    if unit == "m":
        return None, value
    if value != int(value):
        raise UserError(f"--tile-size in pixels must be a whole number, got '{text}'")
    return int(value), None


def tiling_from_args(args: argparse.Namespace):
    from ..raster.bands import parse_bands
    from ..raster.reader import TilingParams

    tile_px, ground_m = parse_tile_size(args.tile_size)
    return TilingParams(tile_px=tile_px, ground_m=ground_m, gsd=args.gsd, overlap=args.overlap,
                        bands=parse_bands(args.bands), min_valid=args.min_valid)


def _model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default=None,
                   help="model name from 'python -m backend models' (default: $REMOTECLIP_MODEL, else the best "
                        "one whose weights are present: RemoteCLIP, then the project's small model)")
    g.add_argument("--weights", help="checkpoint file to use instead of the registry's (open_clip state dict)")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    g.add_argument("--precision", choices=("exact", "int8"), default=None,
                   help="exact (default) or int8: the CPU fast path, about 2x faster, embeddings within cosine "
                        "0.99 of exact; its stores are kept apart from exact ones")
    g.add_argument("--fast", action="store_const", const="int8", dest="precision",
                   help="same as --precision int8")


def _raster_options(p: argparse.ArgumentParser) -> None:
    _model_options(p)
    g = p.add_argument_group("tiling")
    g.add_argument("raster", help="GeoTIFF or any raster GDAL reads")
    g.add_argument("--tile-size", default=None,
                   help="tile side in pixels ('224') or on the ground in metres ('300m'); default: model input size")
    g.add_argument("--gsd", type=float, default=None,
                   help="metres per model-input pixel: each tile covers GSD x input size metres")
    g.add_argument("--overlap", type=float, default=0.0, help="fraction of a tile shared with its neighbour (0-0.9)")
    g.add_argument("--bands", default=None, help="bands as R,G,B such as '3,2,1', or one band to replicate")
    g.add_argument("--min-valid", type=float, default=0.01,
                   help="skip tiles with less than this fraction of valid pixels (default: %(default)s)")
    g.add_argument("--batch-size", type=int, default=None,
                   help="tiles per forward pass (default: 32 on the CPU, more on a GPU by its memory)")
    g.add_argument("--workers", type=int, default=None,
                   help="threads reading tiles while the model runs (default: 1 per 4 cores on the CPU, up to 8 "
                        "with a GPU)")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what was wrong, where to look) like every other error."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m backend", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("models", help="list known models and whether their weights are present")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("embed", help="embed a raster's tiles into the cache")
    _raster_options(p)

    p = sub.add_parser("search", help="find tiles matching a text query")
    _raster_options(p)
    p.add_argument("query", nargs="+", help="what to look for; several phrases are averaged")
    p.add_argument("-k", type=int, default=10, help="number of distinct hits (default: %(default)s)")
    p.add_argument("-o", "--output", help="GeoPackage to write (layers: hits, similarity)")

    p = sub.add_parser("classify", help="zero-shot classification of every tile")
    _raster_options(p)
    p.add_argument("--classes", required=True, help="comma-separated class names")
    p.add_argument("-o", "--output", help="GeoPackage to write (layer: classes)")

    p = sub.add_parser("count", help="estimate how many of an object each tile holds (1-10)")
    _raster_options(p)
    p.add_argument("object", help="the object to count, e.g. 'storage tank'")
    p.add_argument("-o", "--output", help="GeoPackage to write (layer: counts)")

    p = sub.add_parser("similar", help="tiles similar to the one at a point or to a tile id")
    _raster_options(p)
    p.add_argument("--x", type=float, help="X of the example point in the raster's CRS")
    p.add_argument("--y", type=float, help="Y of the example point in the raster's CRS")
    p.add_argument("--tile", type=int, help="example tile id (from an earlier result) instead of a point")
    p.add_argument("-k", type=int, default=10, help="number of distinct hits (default: %(default)s)")
    p.add_argument("-o", "--output", help="GeoPackage to write (layers: similar, similarity)")

    p = sub.add_parser("serve", help="run the loopback HTTP service for the QGIS plugin")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s, loopback only)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    p.add_argument("--state-file", default=None, help="JSON file to write url, token and pid to (mode 0600)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--parent-pid", type=int, default=None,
                   help="exit when this process (the QGIS that started the backend) is gone")

    p = sub.add_parser("demo", help="search, classify and count on the shipped sample raster")
    p.add_argument("--model", default=None, help="model to use (default: the first one with weights present)")
    p.add_argument("--weights", help="checkpoint file for --model")
    p.add_argument("--device", default=None)
    p.add_argument("--output-dir", default="demo_output", help="folder for GeoPackages and the PNG map")
    return parser



def load_store(args: argparse.Namespace):
    """Load the model, embed the raster if not cached yet, and return (model, store)."""
    from ..embedding import distributed
    from ..embedding.cost_model import check_disk_budget, estimate, record_job
    from ..embedding.pipeline import cached_store, embed_raster, plan_embedding
    from ..models.factory import load_model
    from ..models.registry import require_model_name
    from ..raster.reader import open_raster

    ranks = distributed.ranks_from_env()
    if ranks.distributed and args.command != "embed":
        raise UserError(f"only 'embed' runs under torchrun (WORLD_SIZE={ranks.world_size}); run "
                        f"'{args.command}' as one process once the store is written")
    params = tiling_from_args(args)
    with open_raster(args.raster):  # a bad raster is reported before seconds of loading a model
        pass
    device = distributed.rank_device(args.device, ranks)
    model = load_model(require_model_name(args.model), weights=args.weights, device=device,
                       precision=args.precision)
    if ranks.is_main:
        print(f"model: {model.spec.name} ({model.spec.arch}), weights: {model.weights_path}, device: {model.device}"
              f", precision: {model.precision}", file=sys.stderr)
    plan = plan_embedding(args.raster, model.identity, model.spec.name, model.image_size, params)
    if plan.info.crs_wkt is None and ranks.is_main:
        print(f"warning: {plan.info.path} has no CRS: outputs use pixel coordinates", file=sys.stderr)
    fresh = cached_store(plan) is None
    if fresh:  # a store that cannot fit is refused before minutes of embedding
        check_disk_budget(plan.grid.n_tiles, model.embed_dim, plan.info.path)
        if ranks.is_main and not ranks.distributed:  # the same estimate the plugin shows before embedding
            cost = estimate(plan.grid.n_tiles, model, args.batch_size or 32)
            print(f"estimate: {cost.line()} ({cost.rate_tiles_per_s:g} tiles/s, {cost.rate_source})",
                  file=sys.stderr)
    distributed.init(ranks, model.device)
    bar, update = progress_bar("embedding" if not ranks.distributed else f"embedding (rank {ranks.rank})")
    started = time.perf_counter()
    try:
        store = embed_raster(plan, model, batch_size=args.batch_size, progress=update, workers=args.workers,
                             ranks=ranks)
    finally:
        bar.close()
        distributed.finish()
    seconds = time.perf_counter() - started
    if fresh and store is not None and not ranks.distributed:
        record_job(model, plan.grid.n_tiles, seconds)  # later estimates on this device use this rate
    if store is not None and ranks.is_main:
        print(f"store: {store.path} ({store.n_tiles} tiles of {plan.grid.tile_px} px, bands {plan.bands.bands}: "
              f"{plan.bands.reason}; {seconds:.1f} s)", file=sys.stderr)
    return model, store


def _write(args: argparse.Namespace, layers, store) -> None:
    if getattr(args, "output", None):
        from ..query.vector_layer import write_gpkg

        path = write_gpkg(args.output, layers, store.crs_wkt)
        print(f"wrote {path} (layers: {', '.join(layer.name for layer in layers)})", file=sys.stderr)


def _check_output_early(args: argparse.Namespace) -> None:
    """Refuse a bad -o before spending minutes on embedding."""
    if getattr(args, "output", None):
        from ..query.vector_layer import check_output_path

        check_output_path(args.output)


def _centre(ring) -> tuple[float, float]:
    return float(ring[:, 0].mean()), float(ring[:, 1].mean())


def _print_hits(store, ranked) -> None:
    print(f"{'rank':>4}  {'score':>7}  {'tile':>6}  centre (x, y)")
    for r, i in enumerate(ranked.hits, start=1):
        x, y = _centre(store.footprints[i])
        print(f"{r:>4}  {ranked.scores[i]:7.4f}  {i:>6}  {x:.2f}, {y:.2f}")


def cmd_models(args: argparse.Namespace) -> int:
    from ..models.registry import list_models, weights_status

    rows = []
    for spec in list_models():
        status = weights_status(spec)
        rows.append({"name": spec.name, "arch": spec.arch, "source": spec.source, "present": status.present,
                     "weights": status.path if status.present else status.where, "description": spec.description})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'model':<24} {'arch':<22} {'source':<9} {'weights':<8} where")
    for r in rows:
        print(f"{r['name']:<24} {r['arch']:<22} {r['source']:<9} {'present' if r['present'] else 'missing':<8} "
              f"{r['weights']}")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from ..embedding.distributed import ranks_from_env

    _, store = load_store(args)
    if not ranks_from_env().is_main:
        return 0  # rank 0 reports the store
    print(json.dumps({"store": str(store.path), "n_tiles": store.n_tiles,
                      "embed_dim": int(store.embeddings.shape[1]), "seconds": store.meta["seconds"]}))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from ..query.text_search import text_search

    _check_output_early(args)
    from ..query.hit_selection import check_k
    from ..query.prompts import clean_phrases

    check_k(args.k)
    clean_phrases(args.query)
    model, store = load_store(args)
    ranked, layers = text_search(store, model, args.query, k=args.k, templates=model.spec.prompt_templates)
    _print_hits(store, ranked)
    _write(args, layers, store)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from ..query.prompts import parse_class_list
    from ..query.zero_shot import zero_shot

    _check_output_early(args)
    classes = parse_class_list(args.classes)
    model, store = load_store(args)
    result, layers = zero_shot(store, model, classes, templates=model.spec.prompt_templates)
    print(f"{'class':<30} share of tiles")
    for name, share in result.class_shares().items():
        print(f"{name:<30} {share:6.1%}")
    _write(args, layers, store)
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    from ..query.counting import count_objects
    from ..query.prompts import count_prompts

    _check_output_early(args)
    count_prompts(args.object)
    model, store = load_store(args)
    result, layers = count_objects(store, model, args.object)
    print(f"object: {args.object}; tiles: {store.n_tiles}; estimated total: {result.total_expected:.1f}")
    print("busiest tiles (expected count): "
          + ", ".join(f"{i}: {result.expected[i]:.2f}" for i in result.expected.argsort()[::-1][:5]))
    _write(args, layers, store)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from ..query.hit_selection import check_k
    from ..query.similar_tiles import example_point, similar_tiles

    _check_output_early(args)
    check_k(args.k)
    point = example_point(args.x, args.y)
    if (point is None) == (args.tile is None):
        raise UserError("give an example: --x X --y Y (in the raster's CRS) or --tile ID")
    _, store = load_store(args)
    example, ranked, layers = similar_tiles(store, k=args.k, tile_id=args.tile, point=point)
    print(f"example tile: {example}")
    _print_hits(store, ranked)
    _write(args, layers, store)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .service import serve

    return serve(host=args.host, port=args.port, state_file=args.state_file, device=args.device,
                 parent_pid=args.parent_pid)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(model=args.model, weights=args.weights, device=args.device, output_dir=args.output_dir)


COMMANDS = {"models": cmd_models, "embed": cmd_embed, "search": cmd_search, "classify": cmd_classify,
            "count": cmd_count, "similar": cmd_similar, "serve": cmd_serve, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (JobCancelled, KeyboardInterrupt):
        print("cancelled: nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:  # a bug or a damaged cache: one line; the traceback only when asked for
        if os.environ.get(DEBUG_ENV):
            raise
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"error: internal error ({type(exc).__name__}{': ' + first if first else ''}); "
              f"set {DEBUG_ENV}=1 to see the traceback", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
