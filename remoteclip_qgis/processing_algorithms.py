"""Processing algorithms: embedraster, textsearch, zeroshot, countobjects, similartiles, change, fewshot.

Each reads its parameters as a ``params.JobOptions``, builds the job with ``params.build_params`` (the
plugin's settings fill what is unset, as for the toolbar and the dock), runs it through
``jobs.run_to_gpkg`` against the shared backend (progress from the embed job, ``feedback.isCanceled()``
cancels it), lets the backend write a GeoPackage and copies its features into the feature sinks.
The model picker lists the backend's GET /models once a backend is up; any model name is accepted.
"""

from __future__ import annotations

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterPoint,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsVectorLayer,
)

from .backend_client import BackendError
from .i18n import tr
from .params import (
    DEFAULT_OVERLAP,
    FEWSHOT_MODES,
    PRECISIONS,
    EmbedParams,
    JobOptions,
    build_params,
    split_classes,
    split_phrases,
)
from .raster_source import RasterSourceError, backend_raster, extent_render_spec, file_path

_post_processors: list = []  # Processing keeps only a raw pointer: keep them alive here


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies the plugin's style to an output layer Processing loads into the project."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API name
        from .result_layers import style_layer

        if isinstance(layer, QgsVectorLayer):
            style_layer(layer, self.kind)


class RemoteClipAlgorithm(QgsProcessingAlgorithm):
    INPUT = "INPUT"
    MODEL = "MODEL"
    WEIGHTS = "WEIGHTS"
    BANDS = "BANDS"
    TILE_PIXELS = "TILE_PIXELS"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    OUTPUT = "OUTPUT"
    SIMILARITY = "SIMILARITY"
    EXTENT = "EXTENT"
    RENDER_PIXEL_SIZE = "RENDER_PIXEL_SIZE"
    PRECISION = "PRECISION"

    endpoint = "embed"
    output_kind = ""  # GeoPackage layer copied to OUTPUT

    def __init__(self) -> None:
        super().__init__()
        self._render = None  # RenderSpec for a layer the backend cannot read (made in prepareAlgorithm)
        self._after_render = None  # the same for a change's AFTER

    def createInstance(self):  # noqa: N802
        return type(self)()

    def group(self) -> str:
        return ""

    def groupId(self) -> str:  # noqa: N802
        return ""

    # ---------------------------------------------------------------- parameters

    def add_raster_parameters(self) -> None:
        from .backend_process import get_manager

        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.input_label()))
        model = QgsProcessingParameterString(self.MODEL, tr("Model (empty: the best one whose weights are present)"),
                                             optional=True)
        names = get_manager().model_names()  # GET /models of a backend already up; none yet: type a name
        if names:
            model.setMetadata({"widget_wrapper": {"value_hints": [""] + names}})
        self.addParameter(model)
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE_PIXELS, tr("Tile size in pixels (0: use the ground size, else the plugin's tiling)"),
            QgsProcessingParameterNumber.Type.Integer, defaultValue=0, optional=True, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE_SIZE, tr("Tile size on the ground in metres (0: use the pixel size)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=0.0, optional=True, minValue=0.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.OVERLAP, tr("Tile overlap (fraction, 0 to 0.9)"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=DEFAULT_OVERLAP, optional=True, minValue=0.0, maxValue=0.9))
        precision = QgsProcessingParameterEnum(self.PRECISION, tr("Precision (empty: the plugin's setting; int8: the "
                                                                  "fast CPU path, cached apart from exact)"),
                                               options=list(PRECISIONS), optional=True)
        precision.setUsesStaticStrings(True)  # PRECISION=int8, as the backend spells it
        advanced = [
            QgsProcessingParameterBand(self.BANDS, tr("Bands used as red, green, blue (1 or 3; empty: automatic)"),
                                       parentLayerParameterName=self.INPUT, optional=True, allowMultiple=True),
            QgsProcessingParameterFile(self.WEIGHTS, tr("Model weights file (empty: the registry's)"),
                                       optional=True),
            precision,
            QgsProcessingParameterExtent(self.EXTENT, tr("Area to render, for layers without a file "
                                                         "(web, tile, virtual; empty: the layer's extent)"),
                                         optional=True),
            QgsProcessingParameterNumber(self.RENDER_PIXEL_SIZE, tr("Pixel size to render at, in the layer's "
                                                                    "units (0: the layer's own, or 4096 pixels "
                                                                    "across)"),
                                         QgsProcessingParameterNumber.Type.Double, defaultValue=0.0, optional=True,
                                         minValue=0.0),
        ]
        for p in advanced:
            p.setFlags(p.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
            self.addParameter(p)

    def input_label(self) -> str:
        return tr("Raster layer")

    def render_spec(self, parameters, context, key: str = ""):
        """The RenderSpec for a layer (parameter ``key``, default INPUT) without a file the backend can read
        (None for a file)."""
        layer = self.parameterAsRasterLayer(parameters, key or self.INPUT, context)
        if layer is None or file_path(layer) is not None:
            return None
        extent = None
        if parameters.get(self.EXTENT):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
        pixel = self.parameterAsDouble(parameters, self.RENDER_PIXEL_SIZE, context) \
            if parameters.get(self.RENDER_PIXEL_SIZE) else 0.0
        return extent_render_spec(layer, extent, pixel or None)

    def checkParameterValues(self, parameters, context):  # noqa: N802 - the dialog and processing.run show it
        ok, message = super().checkParameterValues(parameters, context)
        if ok:
            try:
                self.render_spec(parameters, context)
            except RasterSourceError as exc:
                return False, str(exc)
        return ok, message

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - main thread: layers may be read
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(tr("No raster layer given"))
        try:  # web, tile or virtual: render it through QGIS and send the pixels
            self._render = self.render_spec(parameters, context)
        except RasterSourceError as exc:
            raise QgsProcessingException(str(exc)) from None
        if self._render is not None:
            feedback.pushInfo(tr("Layer '{0}' has no file the backend can read: rendering it, {1} x {2} pixels").format(
                layer.name(), self._render.width, self._render.height))
        return True

    def job(self, parameters, context, **query) -> tuple[object, EmbedParams]:
        """(the input layer, this algorithm's job parameters) from the algorithm's parameters."""
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        path = file_path(layer) or (self._render.label() if self._render is not None else "")
        if not path:
            raise QgsProcessingException(tr("No raster layer given"))
        from .backend_process import get_manager

        pixels = self.parameterAsInt(parameters, self.TILE_PIXELS, context) if parameters.get(self.TILE_PIXELS) else 0
        ground = self.parameterAsDouble(parameters, self.TILE_SIZE, context) if parameters.get(self.TILE_SIZE) else 0
        # Metres on the ground go to the backend as they are: it converts them with the raster's true scale
        # (Web Mercator's units are not ground metres), as it does for the dock's ground size.
        overlap = parameters.get(self.OVERLAP)
        options = JobOptions(
            model=self.parameterAsString(parameters, self.MODEL, context).strip() if parameters.get(self.MODEL) else "",
            weights=self.parameterAsFile(parameters, self.WEIGHTS, context) or "",
            tile_size=max(0, pixels), ground_size_m=ground if pixels <= 0 and ground > 0 else 0.0,
            overlap=DEFAULT_OVERLAP if overlap is None or overlap == "" else
            self.parameterAsDouble(parameters, self.OVERLAP, context),
            bands=self.parameterAsInts(parameters, self.BANDS, context) if parameters.get(self.BANDS) else None,
            precision=self.parameterAsEnumString(parameters, self.PRECISION, context) or "")
        try:  # the plugin's settings fill the rest, so toolbar, dock and Processing share stores
            return layer, build_params(self.endpoint, path, options, get_manager().settings, **query)
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from None

    # ---------------------------------------------------------------- running

    def run_params(self, params: EmbedParams, feedback) -> dict:
        from .backend_process import get_manager
        from .jobs import JobCancelled, run_to_gpkg

        try:
            feedback.pushInfo(tr("Connecting to the RemoteCLIP backend"))
            manager = get_manager()
            client = manager.client()
            raster = params.raster
            params.raster = backend_raster(client, raster, self._render, remote=not manager.is_local())
            if params.raster != raster:
                feedback.pushInfo(tr("Sent to the backend as {0}").format(params.raster))
            if getattr(params, "after", None):  # a change's later date goes the same way
                after = params.after
                params.after = backend_raster(client, after, self._after_render, remote=not manager.is_local())
                if params.after != after:
                    feedback.pushInfo(tr("Sent to the backend as {0}").format(params.after))

            def on_estimate(estimate: dict) -> None:
                if not estimate.get("embedded"):
                    feedback.pushInfo(tr("Embedding: {0}").format(estimate.get("summary")))

            return run_to_gpkg(client, params, remote=not manager.is_local(), progress=feedback.setProgress,
                               is_canceled=feedback.isCanceled,
                               on_job=lambda job_id: feedback.pushInfo(tr("Embedding (job {0})").format(job_id)),
                               on_estimate=on_estimate)
        except JobCancelled:
            raise QgsProcessingException(tr("Cancelled")) from None
        except (BackendError, RasterSourceError) as exc:
            raise QgsProcessingException(str(exc)) from None

    def temp_gpkg(self) -> str:
        return QgsProcessingUtils.generateTempFilename(f"{self.endpoint}.gpkg")

    def copy_to_sink(self, gpkg: str, layer_name: str, key: str, parameters, context, feedback) -> str | None:
        """Copy one GeoPackage layer's features (without the fid) into the sink ``key``; returns its id."""
        src = QgsVectorLayer(f"{gpkg}|layername={layer_name}", layer_name, "ogr")
        if not src.isValid():
            raise QgsProcessingException(tr("The backend wrote no '{0}' layer in {1}").format(layer_name, gpkg))
        fields = QgsFields()
        names = []
        for field in src.fields():
            if field.name().lower() != "fid":
                fields.append(field)
                names.append(field.name())
        sink, dest_id = self.parameterAsSink(parameters, key, context, fields, src.wkbType(), src.crs())
        if sink is None:  # an optional output the user skipped
            return None
        total = max(1, src.featureCount())
        for i, feature in enumerate(src.getFeatures()):
            if feedback.isCanceled():
                break
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes([feature[n] for n in names])
            sink.addFeature(out, QgsFeatureSink.Flag.FastInsert)
            if i % 1000 == 0:
                feedback.setProgress(100.0 * i / total)
        if context.willLoadLayerOnCompletion(dest_id):
            post = StylePostProcessor(layer_name)
            _post_processors.append(post)
            context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(post)
        return dest_id

    def shortHelpString(self) -> str:  # noqa: N802
        return self.help() + "\n\n" + tr(
            "The raster is embedded once per model and tiling (a background job with progress; cancelling "
            "stops it) and cached by the backend; later queries on it are fast. Tile size: pixels, or metres on "
            "the ground (converted with the raster's true scale, as the dock does); 0 for both uses the plugin's "
            "tiling (the dock's Tiling panel), else the model's default (its training ground size where the "
            "raster's pixel size is known, else its input size). Overlap: 0.25 unless set.")

    def help(self) -> str:
        return ""


class EmbedRaster(RemoteClipAlgorithm):
    N_TILES = "N_TILES"
    STORE = "STORE"

    def name(self):
        return "embedraster"

    def displayName(self):  # noqa: N802
        return tr("Embed raster")

    def help(self):
        return tr("Cut the raster into tiles and compute their RemoteCLIP embeddings, so that searches, "
                  "classifications and counts on it answer at once.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_raster_parameters()
        self.addOutput(QgsProcessingOutputNumber(self.N_TILES, tr("Number of tiles")))
        self.addOutput(QgsProcessingOutputString(self.STORE, tr("Embedding store")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        _, params = self.job(parameters, context)
        job = self.run_params(params, feedback)
        result = job.get("result") or {}
        feedback.pushInfo(tr("{0} tiles embedded").format(result.get("n_tiles")))
        return {self.N_TILES: result.get("n_tiles"), self.STORE: result.get("store")}


class TextSearch(RemoteClipAlgorithm):
    QUERY = "QUERY"
    K = "K"
    BEST_SCORE = "BEST_SCORE"
    endpoint = "search"

    def name(self):
        return "textsearch"

    def displayName(self):  # noqa: N802
        return tr("Text search")

    def help(self):
        return tr("Rank the raster's tiles by their similarity to a phrase (several phrases separated by ';' "
                  "are averaged). Outputs the best tiles (rank, score) and a similarity surface.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_raster_parameters()
        self.addParameter(QgsProcessingParameterString(self.QUERY, tr("Search phrase")))
        self.addParameter(QgsProcessingParameterNumber(self.K, tr("Number of hits"),
                                                       QgsProcessingParameterNumber.Type.Integer, defaultValue=10,
                                                       minValue=1))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Hits"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(self.SIMILARITY, tr("Similarity"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
                                                            createByDefault=True))
        self.addOutput(QgsProcessingOutputNumber(self.BEST_SCORE, tr("Best score")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        queries = split_phrases(self.parameterAsString(parameters, self.QUERY, context))
        if not queries:
            raise QgsProcessingException(tr("Type a phrase to search for"))
        gpkg = self.temp_gpkg()
        _, params = self.job(parameters, context, queries=queries, k=self.parameterAsInt(parameters, self.K, context),
                             output=gpkg)
        answer = self.run_params(params, feedback)
        out = {self.OUTPUT: self.copy_to_sink(gpkg, "hits", self.OUTPUT, parameters, context, feedback),
               self.BEST_SCORE: answer.get("summary", {}).get("best_score")}
        out[self.SIMILARITY] = self.copy_to_sink(gpkg, "similarity", self.SIMILARITY, parameters, context, feedback)
        return out


class ZeroShot(RemoteClipAlgorithm):
    CLASSES = "CLASSES"
    TRANSDUCTIVE = "TRANSDUCTIVE"
    CLASS_SHARES = "CLASS_SHARES"
    endpoint = "classify"

    def name(self):
        return "zeroshot"

    def displayName(self):  # noqa: N802
        return tr("Zero-shot classification")

    def help(self):
        return tr("Give every tile the most likely of the listed classes (separated by commas) with the "
                  "probability of each class.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_raster_parameters()
        self.addParameter(QgsProcessingParameterString(self.CLASSES, tr("Classes (separated by commas)")))
        self.addParameter(QgsProcessingParameterBoolean(
            self.TRANSDUCTIVE, tr("Transductive: classify all tiles together (TransCLIP)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Classes"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputString(self.CLASS_SHARES, tr("Class shares (JSON)")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        import json

        classes = split_classes(self.parameterAsString(parameters, self.CLASSES, context))
        if len(classes) < 2:
            raise QgsProcessingException(tr("List at least two classes"))
        gpkg = self.temp_gpkg()
        transductive = self.parameterAsBoolean(parameters, self.TRANSDUCTIVE, context)
        _, params = self.job(parameters, context, classes=classes, output=gpkg, transductive=transductive)
        answer = self.run_params(params, feedback)
        if answer.get("summary", {}).get("note"):  # transduction fell back to plain zero-shot
            feedback.pushWarning(answer["summary"]["note"])
        shares = answer.get("summary", {}).get("class_shares")
        return {self.OUTPUT: self.copy_to_sink(gpkg, "classes", self.OUTPUT, parameters, context, feedback),
                self.CLASS_SHARES: json.dumps(shares)}


class CountObjects(RemoteClipAlgorithm):
    OBJECT = "OBJECT"
    TOTAL = "TOTAL_EXPECTED"
    endpoint = "count"

    def name(self):
        return "countobjects"

    def displayName(self):  # noqa: N802
        return tr("Count objects")

    def help(self):
        return tr("Estimate how many of an object (e.g. 'storage tank') each tile holds, 1 to 10, with the "
                  "expected count and a confidence.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_raster_parameters()
        self.addParameter(QgsProcessingParameterString(self.OBJECT, tr("Object to count")))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Counts"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber(self.TOTAL, tr("Expected total")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        obj = self.parameterAsString(parameters, self.OBJECT, context).strip()
        if not obj:
            raise QgsProcessingException(tr("Name the object to count"))
        gpkg = self.temp_gpkg()
        _, params = self.job(parameters, context, object=obj, output=gpkg)
        answer = self.run_params(params, feedback)
        return {self.OUTPUT: self.copy_to_sink(gpkg, "counts", self.OUTPUT, parameters, context, feedback),
                self.TOTAL: answer.get("summary", {}).get("total_expected")}


class SimilarTiles(RemoteClipAlgorithm):
    POINT = "POINT"
    K = "K"
    EXAMPLE = "EXAMPLE_TILE"
    endpoint = "similar"

    def name(self):
        return "similartiles"

    def displayName(self):  # noqa: N802
        return tr("Similar tiles")

    def help(self):
        return tr("Find the tiles that look most like the tile under an example point.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_raster_parameters()
        self.addParameter(QgsProcessingParameterPoint(self.POINT, tr("Example point")))
        self.addParameter(QgsProcessingParameterNumber(self.K, tr("Number of similar tiles"),
                                                       QgsProcessingParameterNumber.Type.Integer, defaultValue=10,
                                                       minValue=1))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Similar tiles"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(self.SIMILARITY, tr("Similarity"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
                                                            createByDefault=True))
        self.addOutput(QgsProcessingOutputNumber(self.EXAMPLE, tr("Example tile")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        gpkg = self.temp_gpkg()
        layer, params = self.job(parameters, context, k=self.parameterAsInt(parameters, self.K, context), output=gpkg)
        point = self.parameterAsPoint(parameters, self.POINT, context, layer.crs())
        params.x, params.y = point.x(), point.y()
        answer = self.run_params(params, feedback)
        out = {self.OUTPUT: self.copy_to_sink(gpkg, "similar", self.OUTPUT, parameters, context, feedback),
               self.EXAMPLE: answer.get("summary", {}).get("example_tile")}
        out[self.SIMILARITY] = self.copy_to_sink(gpkg, "similarity", self.SIMILARITY, parameters, context, feedback)
        return out


class ChangeBetweenDates(RemoteClipAlgorithm):
    INPUT = "BEFORE"  # the base class's raster parameter, named for what it is here
    AFTER = "AFTER"
    QUERY = "QUERY"
    K = "K"
    CHANGE = "CHANGE"
    TILES_COMPARED = "TILES_COMPARED"
    MEAN_CHANGE = "MEAN_CHANGE"
    endpoint = "change"

    def name(self):
        return "change"

    def displayName(self):  # noqa: N802
        return tr("Change between two dates")

    def input_label(self) -> str:
        return tr("Before (the earlier raster)")

    def help(self):
        return tr("Compare two rasters of the same place tile by tile (the later one is put on the grid of the "
                  "earlier one): the most changed tiles (change = 1 - cosine of their embeddings) and the change "
                  "of every tile. With a phrase, tiles rank by how much closer they came to it (gain).")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_raster_parameters()
        self.addParameter(QgsProcessingParameterRasterLayer(self.AFTER, tr("After (the later raster)")))
        self.addParameter(QgsProcessingParameterString(self.QUERY, tr("Phrase: what appeared (optional; ';' "
                                                                      "separates phrases, averaged)"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.K, tr("Number of changed tiles"),
                                                       QgsProcessingParameterNumber.Type.Integer, defaultValue=10,
                                                       minValue=1))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Most changed tiles"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(self.CHANGE, tr("Change of every tile"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
                                                            createByDefault=True))
        self.addOutput(QgsProcessingOutputNumber(self.TILES_COMPARED, tr("Tiles compared")))
        self.addOutput(QgsProcessingOutputNumber(self.MEAN_CHANGE, tr("Mean change")))

    def checkParameterValues(self, parameters, context):  # noqa: N802
        ok, message = super().checkParameterValues(parameters, context)
        if ok:
            try:
                self.render_spec(parameters, context, self.AFTER)
            except RasterSourceError as exc:
                return False, str(exc)
        return ok, message

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802
        super().prepareAlgorithm(parameters, context, feedback)
        after = self.parameterAsRasterLayer(parameters, self.AFTER, context)
        if after is None:
            raise QgsProcessingException(tr("No raster layer given for the later date"))
        try:
            self._after_render = self.render_spec(parameters, context, self.AFTER)
        except RasterSourceError as exc:
            raise QgsProcessingException(str(exc)) from None
        return True

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        after_layer = self.parameterAsRasterLayer(parameters, self.AFTER, context)
        after = file_path(after_layer) or (self._after_render.label() if self._after_render is not None else "")
        queries = split_phrases(self.parameterAsString(parameters, self.QUERY, context) or "")
        gpkg = self.temp_gpkg()
        _, params = self.job(parameters, context, after=after, queries=queries,
                             k=self.parameterAsInt(parameters, self.K, context), output=gpkg)
        answer = self.run_params(params, feedback)
        summary = answer.get("summary", {})
        feedback.pushInfo(tr("{0} tiles compared, mean change {1:.4f}").format(
            summary.get("tiles_compared"), float(summary.get("mean_change") or 0.0)))
        return {self.OUTPUT: self.copy_to_sink(gpkg, "changed", self.OUTPUT, parameters, context, feedback),
                self.CHANGE: self.copy_to_sink(gpkg, "change", self.CHANGE, parameters, context, feedback),
                self.TILES_COMPARED: summary.get("tiles_compared"), self.MEAN_CHANGE: summary.get("mean_change")}


class FewShot(RemoteClipAlgorithm):
    EXAMPLES = "EXAMPLES"
    LABEL_FIELD = "LABEL_FIELD"
    MODE = "MODE"
    K = "K"
    TEXT_PRIOR = "TEXT_PRIOR"
    SCORES = "SCORES"
    MODE_USED = "MODE_USED"
    endpoint = "fewshot"

    def name(self):
        return "fewshot"

    def displayName(self):  # noqa: N802
        return tr("More like these (few-shot from marked tiles)")

    def help(self):
        return tr("Learn from marked examples (points or polygons with a label) over the raster's tiles: with two "
                  "or more labels every tile gets a class and the probability of each; with one label (and "
                  "counter-examples labelled 'negative') the tiles most like the examples, ranked. The examples "
                  "are sent as GeoJSON in their layer's CRS, so this works with a remote backend too.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_raster_parameters()
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.EXAMPLES, tr("Marked examples (points or polygons)"),
            [QgsProcessing.SourceType.TypeVectorPoint, QgsProcessing.SourceType.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(self.LABEL_FIELD, tr("Label field (empty: label)"),
                                                      defaultValue="label", parentLayerParameterName=self.EXAMPLES,
                                                      optional=True))
        mode = QgsProcessingParameterEnum(self.MODE, tr("Mode (auto: classes with two or more labels, a ranking "
                                                        "with one)"), options=list(FEWSHOT_MODES),
                                          defaultValue="auto")
        mode.setUsesStaticStrings(True)  # MODE=rank, as the backend spells it
        self.addParameter(mode)
        self.addParameter(QgsProcessingParameterNumber(self.K, tr("Number of hits (a ranking)"),
                                                       QgsProcessingParameterNumber.Type.Integer, defaultValue=10,
                                                       minValue=1))
        self.addParameter(QgsProcessingParameterBoolean(
            self.TEXT_PRIOR, tr("Use the labels' words as a hint (a label that is a phrase adds its text "
                                "embedding)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Classes, or the hits of a ranking"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(self.SCORES, tr("Scores of every tile (a ranking)"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
                                                            createByDefault=True))
        self.addOutput(QgsProcessingOutputString(self.MODE_USED, tr("Mode used")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from .marks import examples_geojson

        source = self.parameterAsSource(parameters, self.EXAMPLES, context)
        if source is None:
            raise QgsProcessingException(tr("No layer of examples given"))
        label_field = (self.parameterAsString(parameters, self.LABEL_FIELD, context) or "label").strip()
        if source.fields().indexOf(label_field) < 0:
            raise QgsProcessingException(tr("The examples have no field '{0}'").format(label_field))
        examples = examples_geojson(source.getFeatures(), label_field, source.sourceCrs())
        gpkg = self.temp_gpkg()
        _, params = self.job(parameters, context, examples=examples, label_field=label_field,
                             mode=self.parameterAsEnumString(parameters, self.MODE, context) or "auto",
                             k=self.parameterAsInt(parameters, self.K, context),
                             text_prior=self.parameterAsBoolean(parameters, self.TEXT_PRIOR, context), output=gpkg)
        answer = self.run_params(params, feedback)
        mode = answer.get("summary", {}).get("mode", "")
        if mode == "classify":
            return {self.OUTPUT: self.copy_to_sink(gpkg, "fewshot_classes", self.OUTPUT, parameters, context,
                                                   feedback), self.SCORES: None, self.MODE_USED: mode}
        return {self.OUTPUT: self.copy_to_sink(gpkg, "fewshot_hits", self.OUTPUT, parameters, context, feedback),
                self.SCORES: self.copy_to_sink(gpkg, "fewshot_scores", self.SCORES, parameters, context, feedback),
                self.MODE_USED: mode}


ALGORITHMS = (EmbedRaster, TextSearch, ZeroShot, CountObjects, SimilarTiles, ChangeBetweenDates, FewShot)
