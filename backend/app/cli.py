"""Headless command line: ``python -m backend {models,download,embed,search,classify,count,similar,serve,demo}``.

Every user error prints one line (``error: ...``) and exits with status 2 (``count`` refused for a model that
cannot count: 4); an internal error prints one line too and exits with 1 (``REMOTECLIP_DEBUG=1`` shows its
traceback); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CannotCountError, JobCancelled, UserError
from .progress import progress_bar

if TYPE_CHECKING:  # imported by the commands that use them: 'models' and '--help' answer in 0.1 s, not 2
    from ..embedding.cost_model import Estimate
    from .orchestration import Answer, Embedded, Prepared, RasterSpec

EXIT_USER_ERROR = 2
EXIT_CANNOT_COUNT = 4  # count refused: the model's registry entry says it cannot count (--force overrides)
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
    """The tiling the options ask for; bounds checked here, at the door, with the lines the service uses."""
    from ..raster.bands import parse_bands
    from ..raster.reader import TilingParams
    from . import bounds

    tile_px, ground_m = parse_tile_size(args.tile_size)
    bounds.TILE_PX.check(tile_px)
    bounds.GROUND_M.check(ground_m)
    bounds.GSD.check(args.gsd)
    bounds.OVERLAP.check(args.overlap)
    bounds.MIN_VALID.check(args.min_valid)
    return TilingParams(tile_px=tile_px, ground_m=ground_m, gsd=args.gsd, overlap=args.overlap,
                        bands=parse_bands(args.bands), min_valid=args.min_valid)


def raster_spec(args: argparse.Namespace) -> RasterSpec:
    """The raster, model and tiling of a command, validated."""
    from . import bounds
    from .orchestration import RasterSpec

    bounds.BATCH.check(args.batch_size)
    bounds.WORKERS.check(args.workers)
    return RasterSpec(raster=args.raster, model=args.model, weights=args.weights, precision=args.precision,
                      tiling=tiling_from_args(args))


def _model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default=None,
                   help="model name from 'python -m backend models' (default: $REMOTECLIP_MODEL, else the best "
                        "one whose weights are present: RemoteCLIP, then the project's small model)")
    g.add_argument("--weights", help="checkpoint file to use instead of the registry's (open_clip state dict)")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    # backend.models.fast_path.PRECISIONS, spelled out: the CLI parses its arguments before importing torch.
    g.add_argument("--precision", choices=("exact", "int8", "openvino", "openvino-bf16"), default=None,
                   help="exact (default); int8: torch's dynamic int8 (Linear layers); openvino, openvino-bf16: the "
                        "image tower in OpenVINO on the CPU (float32, bfloat16), for a convolutional tower such as "
                        "the small model's the fastest (docs/PERFORMANCE.md); their stores are kept apart from "
                        "exact ones")
    g.add_argument("--fast", action="store_const", const="int8", dest="precision",
                   help="same as --precision int8")


def _raster_options(p: argparse.ArgumentParser, positional: bool = True) -> None:
    _model_options(p)
    g = p.add_argument_group("tiling")
    if positional:
        g.add_argument("raster", help="GeoTIFF or any raster GDAL reads")
    g.add_argument("--tile-size", default=None,
                   help="tile side in pixels ('224') or on the ground in metres ('300m'); default: the model's "
                   "training ground size (remoteclip-qgis-small: 146.2 m) where the raster's pixel size is known, "
                   "else its input size")
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


def _heatmap_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--heatmap", default=None, metavar="TIF",
                   help="also write the similarity as a float32 GeoTIFF whose cell is the tile stride, each cell "
                        "the mean of the tiles covering it (overlap sharpens it)")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what was wrong, where to look) like every other error."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m backend", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("models", help="list known models and whether their weights are present")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("download", help="fetch a model's weights (the Hugging Face cache, or its download URL)")
    p.add_argument("name", help="model name from 'python -m backend models'")

    p = sub.add_parser("embed", help="embed a raster's tiles into the cache")
    _raster_options(p)

    p = sub.add_parser("search", help="find tiles matching a text query (in a raster, or across a catalogue)")
    _raster_options(p)
    p.add_argument("query", nargs="*", help="what to look for; several phrases are averaged (with --catalog, "
                                            "RASTER is the first phrase)")
    p.add_argument("--catalog", default=None, metavar="NAME",
                   help="search every raster of this catalogue (see 'catalog add') instead of one raster")
    p.add_argument("-k", type=int, default=10, help="number of distinct hits (default: %(default)s)")
    p.add_argument("-o", "--output", help="GeoPackage to write (layers: hits, similarity)")
    _heatmap_option(p)

    p = sub.add_parser("classify", help="zero-shot classification of every tile")
    _raster_options(p)
    p.add_argument("--classes", required=True, help="comma-separated class names")
    p.add_argument("--transductive", action="store_true",
                   help="classify all tiles together (TransCLIP; needs at least as many tiles as classes)")
    p.add_argument("-o", "--output", help="GeoPackage to write (layer: classes)")
    p.add_argument("--class-raster", default=None, metavar="TIF",
                   help="also write the class of each tile-stride cell (from the probabilities of the tiles "
                        "covering it) as a paletted uint8 GeoTIFF")

    p = sub.add_parser("count", help="estimate how many of an object each tile holds (1-10)")
    _raster_options(p)
    p.add_argument("object", help="the object to count, e.g. 'storage tank'")
    p.add_argument("--force", action="store_true", help="count even with a model whose registry says it cannot")
    p.add_argument("-o", "--output", help="GeoPackage to write (layer: counts)")

    p = sub.add_parser("similar", help="tiles similar to the one at a point or to a tile id")
    _raster_options(p)
    p.add_argument("--x", type=float, help="X of the example point in the raster's CRS")
    p.add_argument("--y", type=float, help="Y of the example point in the raster's CRS")
    p.add_argument("--tile", type=int, help="example tile id (from an earlier result) instead of a point")
    p.add_argument("-k", type=int, default=10, help="number of distinct hits (default: %(default)s)")
    p.add_argument("-o", "--output", help="GeoPackage to write (layers: similar, similarity)")
    _heatmap_option(p)

    p = sub.add_parser("change", help="what changed between two dates of one place, tile by tile")
    _raster_options(p)  # its RASTER is BEFORE: AFTER is tiled on BEFORE's grid
    p.add_argument("after", metavar="AFTER", help="the later raster of the same place (warped onto BEFORE's grid "
                                                  "when its CRS or grid differ)")
    p.add_argument("--query", nargs="+", default=None,
                   help="rank tiles by how much closer AFTER moved to this phrase (e.g. 'new buildings') "
                        "instead of by change")
    p.add_argument("-k", type=int, default=10, help="number of distinct changed tiles (default: %(default)s)")
    p.add_argument("-o", "--output", help="GeoPackage to write (layers: changed, change)")
    p.add_argument("--heatmap", default=None, metavar="TIF",
                   help="also write the change (1 - cosine), or the gain toward --query, as a float32 GeoTIFF "
                        "whose cell is the tile stride")

    p = sub.add_parser("fewshot", help="classes (or a ranking) learned from a few marked tiles")
    _raster_options(p)
    p.add_argument("--examples", required=True, metavar="FILE",
                   help="vector file of marked points or polygons (GeoPackage, GeoJSON, Shapefile), any CRS")
    p.add_argument("--label-field", default="label", help="the examples' label field (default: %(default)s); "
                   "label 'negative' marks counter-examples of a ranking")
    p.add_argument("--layer", default=None, help="layer of the examples file (default: its first)")
    p.add_argument("--mode", choices=("auto", "classify", "rank"), default="auto",
                   help="classify (two or more labels), rank by example (one label), or auto (default)")
    p.add_argument("--no-text-prior", action="store_true",
                   help="do not use the labels' text (by default a label that is a phrase adds its text embedding)")
    p.add_argument("-k", type=int, default=10, help="hits of a ranking (default: %(default)s)")
    p.add_argument("-o", "--output", help="GeoPackage to write (layers: fewshot_classes, or fewshot_hits and "
                                          "fewshot_scores)")
    p.add_argument("--class-raster", default=None, metavar="TIF",
                   help="also write the classes (or the ranking score) as a GeoTIFF on the tile-stride grid")

    p = sub.add_parser("catalog", help="catalogues of rasters searched as one: add, list, remove")
    csub = p.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    c = csub.add_parser("add", help="add rasters (files, folders, GDAL tile indexes, STAC JSON) and embed them")
    c.add_argument("name", help="the catalogue (made on first add, with this model and tiling)")
    c.add_argument("sources", nargs="+", metavar="SOURCE", help="raster files, folders, tile indexes or STAC JSON")
    _raster_options(c, positional=False)
    c = csub.add_parser("list", help="the catalogues, or one catalogue's rasters")
    c.add_argument("name", nargs="?", default=None)
    c = csub.add_parser("remove", help="remove rasters from a catalogue, or the whole catalogue")
    c.add_argument("name")
    c.add_argument("rasters", nargs="*", help="rasters to remove (none: the catalogue itself; stores are kept)")

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


class CliRun:
    """One command's workspace: the model loaded for this process, the raster embedded when a query finds no
    store (with the estimate, a progress bar and the store's line on stderr)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from ..raster.uploads import resolve_raster
        from .caches import RasterInfos

        self.args = args
        self.spec = raster_spec(args)
        rasters = RasterInfos()  # a bad raster is refused in a second, before torch is imported or a model loads
        for path in (self.spec.raster, getattr(args, "after", None)):  # a catalogue's rasters: in catalog_add
            if path:
                rasters.describe(resolve_raster(path))

        from ..embedding import distributed
        from ..models.factory import load_model
        from .orchestration import Workspace

        self.ranks = distributed.ranks_from_env()
        if self.ranks.distributed and args.command not in ("embed", "catalog"):
            raise UserError(f"only 'embed' runs under torchrun (WORLD_SIZE={self.ranks.world_size}); run "
                            f"'{args.command}' as one process once the store is written")
        self.workspace = Workspace(distributed.rank_device(args.device, self.ranks), load_model=load_model,
                                   when_missing=lambda prepared: self.embed(prepared).store,
                                   on_prepared=self._report if self.ranks.is_main else None, rasters=rasters)

    @staticmethod
    def _report(prepared: Prepared) -> None:
        model, plan = prepared.model, prepared.plan
        print(f"model: {model.spec.name} ({model.spec.arch}), weights: {model.weights_path}, device: {model.device}"
              f", precision: {model.precision}", file=sys.stderr)
        for note in plan.info.notes:
            print(f"note: {plan.info.path}: {note}", file=sys.stderr)
        if plan.info.crs_wkt is None:
            print(f"warning: {plan.info.path} has no CRS: outputs use pixel coordinates", file=sys.stderr)

    def _announce(self, cost: Estimate) -> None:  # the same estimate the plugin shows before embedding
        if self.ranks.is_main:
            print(f"estimate: {cost.line()} ({cost.rate_tiles_per_s:g} tiles/s, {cost.rate_source})", file=sys.stderr)

    def embed(self, prepared: Prepared, alone: bool = False) -> Embedded:
        """Embed ``prepared``: with every torchrun rank (the default), or ``alone`` in this process (a catalogue
        shares out whole rasters, and keeps its process group for the barrier after)."""
        from ..embedding import distributed
        from . import orchestration

        ranks = distributed.SINGLE if alone else self.ranks
        distributed.init(ranks, prepared.model.device)
        label = f"embedding {Path(prepared.plan.info.path).name}" if alone else "embedding"
        bar, update = progress_bar(label if not ranks.distributed else f"embedding (rank {ranks.rank})")
        try:
            done = orchestration.embed(self.workspace, prepared, batch_size=self.args.batch_size,
                                       workers=self.args.workers, progress=update, ranks=ranks,
                                       before=self._announce)
        finally:
            bar.close()
            if not alone:
                distributed.finish()
        plan, store = prepared.plan, done.store
        if store is not None and ranks.is_main:
            print(f"store: {store.path} ({store.n_tiles} tiles of {plan.grid.tile_px} px, bands {plan.bands.bands}: "
                  f"{plan.bands.reason}; {done.seconds:.1f} s)", file=sys.stderr)
        return done


def _write(answer: Answer) -> None:
    if answer.output is not None:
        print(f"wrote {answer.output} (layers: {', '.join(layer.name for layer in answer.layers)})", file=sys.stderr)
    if answer.raster is not None:
        print(f"wrote {answer.raster}", file=sys.stderr)


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


def cmd_download(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..models.download import download_weights
    from ..models.registry import get_model_spec

    spec = get_model_spec(args.name)
    with tqdm(unit="B", unit_scale=True, desc=spec.name, disable=None) as bar:
        def progress(done: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        path = download_weights(spec, progress=progress)
    print(f"{spec.name}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    run = CliRun(args)
    done = run.embed(run.workspace.prepare(run.spec))
    if not run.ranks.is_main:
        return 0  # rank 0 reports the store
    store = done.store
    print(json.dumps({"store": str(store.path), "n_tiles": store.n_tiles,
                      "embed_dim": int(store.embeddings.shape[1]), "seconds": store.meta["seconds"]}))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from ..query.prompts import clean_phrases
    from . import bounds, orchestration

    bounds.K.check(args.k)
    if args.catalog:
        return _search_catalog(args, clean_phrases([args.raster, *args.query]))
    if not args.query:
        raise UserError("give what to look for after the raster, e.g. search R.tif 'storage tanks'")
    queries = clean_phrases(args.query)
    run = CliRun(args)
    answer = orchestration.search(run.workspace, run.spec, queries, k=args.k, output=args.output,
                                  heatmap=args.heatmap)
    _print_hits(answer.store, answer.result)
    _write(answer)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from ..query.prompts import parse_class_list
    from . import orchestration

    classes = parse_class_list(args.classes)
    run = CliRun(args)
    answer = orchestration.classify(run.workspace, run.spec, classes, output=args.output,
                                    transductive=args.transductive, class_raster=args.class_raster)
    if "note" in answer.summary:
        print(f"note: {answer.summary['note']}", file=sys.stderr)
    print(f"{'class':<30} share of tiles")
    for name, share in answer.summary["class_shares"].items():
        print(f"{name:<30} {share:6.1%}")
    _write(answer)
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    from ..query.prompts import count_prompts
    from . import orchestration

    count_prompts(args.object)
    run = CliRun(args)
    answer = orchestration.count(run.workspace, run.spec, args.object, output=args.output, force=args.force)
    expected = answer.result.expected
    print(f"object: {args.object}; tiles: {answer.store.n_tiles}; estimated total: {answer.result.total_expected:.1f}")
    print("busiest tiles (expected count): "
          + ", ".join(f"{i}: {expected[i]:.2f}" for i in expected.argsort()[::-1][:5]))
    _write(answer)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from ..query.similar_tiles import example_point
    from . import bounds, orchestration

    bounds.K.check(args.k)
    bounds.TILE_ID.check(args.tile)
    point = example_point(args.x, args.y)
    if (point is None) == (args.tile is None):
        raise UserError("give an example: --x X --y Y (in the raster's CRS) or --tile ID")
    run = CliRun(args)
    answer = orchestration.similar(run.workspace, run.spec, k=args.k, tile_id=args.tile, point=point,
                                   output=args.output, heatmap=args.heatmap)
    print(f"example tile: {answer.summary['example_tile']}")
    _print_hits(answer.store, answer.result)
    _write(answer)
    return 0


def cmd_change(args: argparse.Namespace) -> int:
    from ..query.prompts import clean_phrases
    from . import bounds, orchestration

    bounds.K.check(args.k)
    queries = clean_phrases(args.query) if args.query else None
    run = CliRun(args)
    answer = orchestration.change(run.workspace, run.spec, args.after, k=args.k, output=args.output,
                                  queries=queries, heatmap=args.heatmap)
    result, store = answer.result, answer.store
    print(f"tiles compared: {answer.summary['tiles_compared']}; mean change: {answer.summary['mean_change']:.4f}"
          + (f"; ranked by gain toward '{result.query}'" if result.query else ""))
    print(f"{'rank':>4}  {'change':>7}  {'gain':>7}  {'tile':>6}  centre (x, y)")
    for r, i in enumerate(result.hits, start=1):
        x, y = _centre(store.footprints[i])
        gain = f"{result.gain[i]:7.4f}" if result.gain is not None else f"{'':>7}"
        print(f"{r:>4}  {result.change[i]:7.4f}  {gain}  {i:>6}  {x:.2f}, {y:.2f}")
    _write(answer)
    return 0


def cmd_fewshot(args: argparse.Namespace) -> int:
    from . import bounds, orchestration

    bounds.K.check(args.k)
    run = CliRun(args)
    answer = orchestration.fewshot(run.workspace, run.spec, examples_file=args.examples, label_field=args.label_field,
                                   layer=args.layer, mode=args.mode, k=args.k, output=args.output,
                                   text_prior=not args.no_text_prior, class_raster=args.class_raster)
    summary, result = answer.summary, answer.result
    marked = ", ".join(f"{label}: {n}" for label, n in summary["examples"].items())
    print(f"{summary['mode']} by {summary['method']}; marked tiles: {marked}")
    if result.mode == "classify":
        print(f"{'class':<30} share of tiles")
        for name, share in summary["class_shares"].items():
            print(f"{name:<30} {share:6.1%}")
    else:
        _print_hits(answer.store, result)
    _write(answer)
    return 0


def _search_catalog(args: argparse.Namespace, queries: list[str]) -> int:
    from . import orchestration

    if args.heatmap:
        raise UserError("--heatmap is for one raster: a catalogue search answers with its hits")
    args.raster = ""
    run = CliRun(args)
    answer = orchestration.catalog_search(run.workspace, args.catalog, queries, k=args.k, output=args.output,
                                          precision=args.precision)
    print(f"catalogue {args.catalog}: {answer.summary['rasters']} rasters, {answer.summary['tiles']} tiles")
    print(f"{'rank':>4}  {'score':>7}  {'tile':>6}  raster")
    for r, hit in enumerate(answer.result, start=1):
        print(f"{r:>4}  {hit.score:7.4f}  {hit.row:>6}  {answer.catalog.entries[hit.entry].path}")
    if answer.output is not None:
        print(f"wrote {answer.output} (layer: catalog_hits, EPSG:4326)", file=sys.stderr)
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from ..query import catalog as catalogs
    from . import orchestration

    if args.catalog_command == "list":
        if args.name is None:
            for name in catalogs.list_catalogs():
                cat = catalogs.load_catalog(name)
                print(f"{name:<24} {len(cat.entries):>4} rasters  {cat.model}")
            return 0
        cat = catalogs.load_catalog(args.name)
        for entry in cat.entries:
            print(f"{'embedded' if entry.store else 'pending ':<9} {entry.path}")
        return 0
    if args.catalog_command == "remove":
        cat = orchestration.catalog_remove(args.name, args.rasters)
        if cat is None:
            print(f"removed catalogue {args.name}", file=sys.stderr)
        else:
            print(f"catalogue {args.name}: {len(cat.entries)} rasters left", file=sys.stderr)
        return 0
    args.raster = ""
    run = CliRun(args)
    if run.ranks.distributed:  # whole rasters per rank, then a barrier before rank 0 writes the index
        import torch

        from ..embedding import distributed

        distributed.init(run.ranks, torch.device(run.workspace.device or "cpu"))
    try:
        cat = orchestration.catalog_add(run.workspace, args.name, args.sources, run.spec,
                                        embed_store=lambda prepared: run.embed(prepared, alone=True).store,
                                        ranks=run.ranks)
    finally:
        if run.ranks.distributed:
            distributed.finish()
    if cat is not None:
        embedded = sum(1 for e in cat.entries if e.store)
        print(json.dumps({"catalog": cat.name, "rasters": len(cat.entries), "embedded": embedded,
                          "model": cat.model}))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(host=args.host, port=args.port, state_file=args.state_file, device=args.device,
                 parent_pid=args.parent_pid)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(model=args.model, weights=args.weights, device=args.device, output_dir=args.output_dir)


COMMANDS = {"models": cmd_models, "download": cmd_download, "embed": cmd_embed, "search": cmd_search,
            "classify": cmd_classify, "count": cmd_count, "similar": cmd_similar, "change": cmd_change,
            "fewshot": cmd_fewshot, "catalog": cmd_catalog, "serve": cmd_serve, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CannotCountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_COUNT
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
