<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
  <context>
    <name>RemoteClip</name>
    <message>
      <source>RemoteCLIP: embed again</source>
      <translation>RemoteCLIP: erneut einbetten</translation>
    </message>
    <message>
      <source>{0} changed on disk since it was embedded in catalogue {1}: its embeddings no longer stand for it.

Embed it again now (in the background; cancel from the task manager), then search again?</source>
      <translation>{0} wurde auf der Festplatte geändert, seit es in den Katalog {1} eingebettet wurde: Seine Einbettungen stehen nicht mehr für das Raster.

Jetzt erneut einbetten (im Hintergrund; im Task-Manager abbrechbar) und dann erneut suchen?</translation>
    </message>
    <message>
      <source>A catalogue's name is 1 to 64 letters, digits, '_', '.' or '-', beginning with a letter or digit: '{0}' is not</source>
      <translation>Der Name eines Katalogs besteht aus 1 bis 64 Buchstaben, Ziffern, '_', '.' oder '-' und beginnt mit einem Buchstaben oder einer Ziffer: '{0}' tut das nicht</translation>
    </message>
    <message>
      <source>RemoteCLIP: add {0} to catalogue {1}</source>
      <translation>RemoteCLIP: {0} zum Katalog {1} hinzufügen</translation>
    </message>
    <message>
      <source>The catalogue could not be updated</source>
      <translation>Der Katalog konnte nicht aktualisiert werden</translation>
    </message>
    <message>
      <source>RemoteCLIP: search {0}</source>
      <translation>RemoteCLIP: Suche {0}</translation>
    </message>
    <message>
      <source>{0}: cancelled</source>
      <translation>{0}: abgebrochen</translation>
    </message>
    <message>
      <source>The task failed</source>
      <translation>Die Aufgabe ist fehlgeschlagen</translation>
    </message>
    <message>
      <source>Catalogue {0}: {1} rasters, {2} embedded</source>
      <translation>Katalog {0}: {1} Raster, {2} eingebettet</translation>
    </message>
    <message>
      <source>{0}: no hits</source>
      <translation>{0}: keine Treffer</translation>
    </message>
    <message>
      <source>Change between two dates</source>
      <translation>Veränderung zwischen zwei Zeitpunkten</translation>
    </message>
    <message>
      <source>The earlier raster</source>
      <translation>Das frühere Raster</translation>
    </message>
    <message>
      <source>Before</source>
      <translation>Vorher</translation>
    </message>
    <message>
      <source>The later raster of the same place (put on the grid of the earlier one when its grid or CRS differ)</source>
      <translation>Das spätere Raster desselben Ortes (auf das Raster des früheren gelegt, wenn Gitter oder KBS abweichen)</translation>
    </message>
    <message>
      <source>After</source>
      <translation>Nachher</translation>
    </message>
    <message>
      <source>optional: what appeared, e.g. new buildings</source>
      <translation>optional: was hinzukam, z. B. neue Gebäude</translation>
    </message>
    <message>
      <source>Empty: rank the tiles by how much they changed. A phrase: by how much closer they came to it</source>
      <translation>Leer: Kacheln nach der Stärke ihrer Veränderung ordnen. Eine Phrase: danach, wie viel näher sie ihr kamen</translation>
    </message>
    <message>
      <source>Phrase</source>
      <translation>Phrase</translation>
    </message>
    <message>
      <source>Tiles</source>
      <translation>Kacheln</translation>
    </message>
    <message>
      <source>Find changes</source>
      <translation>Veränderungen finden</translation>
    </message>
    <message>
      <source>More like these</source>
      <translation>Mehr wie diese</translation>
    </message>
    <message>
      <source>Raster</source>
      <translation>Raster</translation>
    </message>
    <message>
      <source>label of the marks, e.g. forest</source>
      <translation>Beschriftung der Markierungen, z. B. Wald</translation>
    </message>
    <message>
      <source>A left click marks a tile with this label; a right or shift click marks a counter-example ("negative"). Two or more labels give classes, one label a ranking</source>
      <translation>Ein Linksklick markiert eine Kachel mit dieser Beschriftung; ein Rechts- oder Umschalt-Klick markiert ein Gegenbeispiel („negative“). Zwei oder mehr Beschriftungen ergeben Klassen, eine Beschriftung eine Rangfolge</translation>
    </message>
    <message>
      <source>Label</source>
      <translation>Beschriftung</translation>
    </message>
    <message>
      <source>Mark</source>
      <translation>Markieren</translation>
    </message>
    <message>
      <source>Click tiles on the map to mark them (right click: counter-example)</source>
      <translation>Kacheln auf der Karte anklicken, um sie zu markieren (Rechtsklick: Gegenbeispiel)</translation>
    </message>
    <message>
      <source>Clear marks</source>
      <translation>Markierungen löschen</translation>
    </message>
    <message>
      <source>Use the labels' words as a hint</source>
      <translation>Die Wörter der Beschriftungen als Hinweis nutzen</translation>
    </message>
    <message>
      <source>A label that is a phrase (forest, bare soil) adds its text embedding as one more example</source>
      <translation>Eine Beschriftung, die eine Phrase ist (Wald, offener Boden), fügt ihr Text-Embedding als weiteres Beispiel hinzu</translation>
    </message>
    <message>
      <source>Hits of a ranking (one label)</source>
      <translation>Treffer einer Rangfolge (eine Beschriftung)</translation>
    </message>
    <message>
      <source>Hits</source>
      <translation>Treffer</translation>
    </message>
    <message>
      <source>Find more like these</source>
      <translation>Mehr wie diese finden</translation>
    </message>
    <message>
      <source>Choose the raster layers of the two dates (before and after)</source>
      <translation>Rasterlayer der beiden Zeitpunkte wählen (vorher und nachher)</translation>
    </message>
    <message>
      <source>Choose two different raster layers for the two dates</source>
      <translation>Zwei verschiedene Rasterlayer für die beiden Zeitpunkte wählen</translation>
    </message>
    <message>
      <source>No marks yet: press Mark and click tiles on the map</source>
      <translation>Noch keine Markierungen: Markieren drücken und Kacheln auf der Karte anklicken</translation>
    </message>
    <message>
      <source>Choose the raster layer to find more like the marks in</source>
      <translation>Den Rasterlayer wählen, in dem mehr wie die Markierungen gesucht wird</translation>
    </message>
    <message>
      <source>Mark some tiles first: type a label, press Mark and click them on the map</source>
      <translation>Zuerst Kacheln markieren: eine Beschriftung eingeben, Markieren drücken und sie auf der Karte anklicken</translation>
    </message>
    <message>
      <source>Marks: {0}</source>
      <translation>Markierungen: {0}</translation>
    </message>
    <message>
      <source>exact (PyTorch)</source>
      <translation>exakt (PyTorch)</translation>
    </message>
    <message>
      <source>int8 (PyTorch, faster, nearly the same)</source>
      <translation>int8 (PyTorch, schneller, nahezu gleich)</translation>
    </message>
    <message>
      <source>OpenVINO (the same results, faster)</source>
      <translation>OpenVINO (gleiche Ergebnisse, schneller)</translation>
    </message>
    <message>
      <source>OpenVINO bf16 (fastest, cosine 0.999 to exact)</source>
      <translation>OpenVINO bf16 (am schnellsten, Kosinus 0,999 zu exakt)</translation>
    </message>
    <message>
      <source>RemoteCLIP: new catalogue</source>
      <translation>RemoteCLIP: neuer Katalog</translation>
    </message>
    <message>
      <source>Name of the new catalogue (letters, digits, '_', '.' or '-'):</source>
      <translation>Name des neuen Katalogs (Buchstaben, Ziffern, '_', '.' oder '-'):</translation>
    </message>
    <message>
      <source>model's default: its input size in pixels (press Refresh to see the model's ground size)</source>
      <translation>Standard des Modells: seine Eingabegröße in Pixeln (Aktualisieren zeigt die Bodengröße des Modells)</translation>
    </message>
    <message>
      <source>RemoteCLIP</source>
      <translation>RemoteCLIP</translation>
    </message>
    <message>
      <source>Backend</source>
      <translation>Backend</translation>
    </message>
    <message>
      <source>Refresh</source>
      <translation>Aktualisieren</translation>
    </message>
    <message>
      <source>Ask the backend for its health and models (starts a local backend when none is running)</source>
      <translation>Backend nach Zustand und Modellen fragen (startet ein lokales Backend, wenn keines läuft)</translation>
    </message>
    <message>
      <source>The model for every RemoteCLIP job (the toolbar's search too)</source>
      <translation>Das Modell für jeden RemoteCLIP-Auftrag (auch für die Suche in der Werkzeugleiste)</translation>
    </message>
    <message>
      <source>Model</source>
      <translation>Modell</translation>
    </message>
    <message>
      <source>Tiling</source>
      <translation>Kachelung</translation>
    </message>
    <message>
      <source>model's default</source>
      <translation>Vorgabe des Modells</translation>
    </message>
    <message>
      <source>Tile side in raster pixels. Not set: the model's training ground size where the raster's pixel size is known (remoteclip-qgis-small: 146 m), else its input size</source>
      <translation>Kachelseite in Rasterpixeln. Nicht gesetzt: die Bodengröße der Trainingsbilder des Modells, wo die Pixelgröße des Rasters bekannt ist (remoteclip-qgis-small: 146 m), sonst seine Eingabegröße</translation>
    </message>
    <message>
      <source>Tile size</source>
      <translation>Kachelgröße</translation>
    </message>
    <message>
      <source>not set</source>
      <translation>nicht gesetzt</translation>
    </message>
    <message>
      <source>Tile side on the ground in metres; when set, it replaces the tile size in pixels</source>
      <translation>Kachelseite am Boden in Metern; wenn gesetzt, ersetzt sie die Kachelgröße in Pixeln</translation>
    </message>
    <message>
      <source>Ground size</source>
      <translation>Größe am Boden</translation>
    </message>
    <message>
      <source>Overlap</source>
      <translation>Überlappung</translation>
    </message>
    <message>
      <source>automatic, e.g. 3,2,1</source>
      <translation>automatisch, z. B. 3,2,1</translation>
    </message>
    <message>
      <source>Bands</source>
      <translation>Bänder</translation>
    </message>
    <message>
      <source>How the backend runs the image model on a CPU; each choice keeps its own cached embeddings. OpenVINO gives the same results as exact, several times faster (docs/PERFORMANCE.md)</source>
      <translation>Wie das Backend das Bildmodell auf einer CPU ausführt; jede Wahl hat ihre eigenen zwischengespeicherten Einbettungen. OpenVINO liefert dieselben Ergebnisse wie exakt, um ein Mehrfaches schneller (docs/PERFORMANCE.md)</translation>
    </message>
    <message>
      <source>Precision</source>
      <translation>Genauigkeit</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Abbrechen</translation>
    </message>
    <message>
      <source>Cancel the running job (an embedding stops; nothing half-made is kept)</source>
      <translation>Den laufenden Auftrag abbrechen (eine Einbettung hält an; nichts Halbfertiges bleibt)</translation>
    </message>
    <message>
      <source>Zero-shot classes</source>
      <translation>Zero-Shot-Klassen</translation>
    </message>
    <message>
      <source>Presets…</source>
      <translation>Vorlagen…</translation>
    </message>
    <message>
      <source>One class per line, e.g.
farmland
forest
river or lake</source>
      <translation>Eine Klasse pro Zeile (auf Englisch), z. B.
farmland
forest
river or lake</translation>
    </message>
    <message>
      <source>Transductive (all tiles together)</source>
      <translation>Transduktiv (alle Kacheln gemeinsam)</translation>
    </message>
    <message>
      <source>Classify all tiles of the raster together (TransCLIP) rather than each tile alone; with fewer tiles than classes plain zero-shot is used</source>
      <translation>Alle Kacheln des Rasters gemeinsam klassifizieren (TransCLIP) statt jede Kachel einzeln; bei weniger Kacheln als Klassen wird einfaches Zero-Shot verwendet</translation>
    </message>
    <message>
      <source>Classify</source>
      <translation>Klassifizieren</translation>
    </message>
    <message>
      <source>Count and find similar</source>
      <translation>Zählen und Ähnliches finden</translation>
    </message>
    <message>
      <source>Object to count, e.g. storage tank</source>
      <translation>Zu zählendes Objekt, z. B. storage tank</translation>
    </message>
    <message>
      <source>Count</source>
      <translation>Zählen</translation>
    </message>
    <message>
      <source>Recent results</source>
      <translation>Letzte Ergebnisse</translation>
    </message>
    <message>
      <source>Zoom to</source>
      <translation>Hinzoomen</translation>
    </message>
    <message>
      <source>What the toolbar's search box and the locator search: the active raster layer, or every raster of a catalogue (one layer of hits)</source>
      <translation>Was das Suchfeld der Werkzeugleiste und die Locator-Suche durchsuchen: den aktiven Rasterlayer oder jedes Raster eines Katalogs (ein Layer mit Treffern)</translation>
    </message>
    <message>
      <source>Add the active layer to the catalogue…</source>
      <translation>Aktiven Layer zum Katalog hinzufügen…</translation>
    </message>
    <message>
      <source>Embed the active raster layer into the chosen catalogue (a new one when the search is in the active layer)</source>
      <translation>Den aktiven Rasterlayer in den gewählten Katalog einbetten (einen neuen, wenn im aktiven Layer gesucht wird)</translation>
    </message>
    <message>
      <source>Search in</source>
      <translation>Suchen in</translation>
    </message>
    <message>
      <source>Connecting to the backend…</source>
      <translation>Verbindung zum Backend wird hergestellt…</translation>
    </message>
    <message>
      <source>search</source>
      <translation>Suche</translation>
    </message>
    <message>
      <source>classes</source>
      <translation>Klassen</translation>
    </message>
    <message>
      <source>counts</source>
      <translation>Anzahlen</translation>
    </message>
    <message>
      <source>similar tiles</source>
      <translation>ähnliche Kacheln</translation>
    </message>
    <message>
      <source>change</source>
      <translation>Veränderung</translation>
    </message>
    <message>
      <source>more like these</source>
      <translation>mehr wie diese</translation>
    </message>
    <message>
      <source>catalogue search</source>
      <translation>Katalogsuche</translation>
    </message>
    <message>
      <source>Query</source>
      <translation>Anfrage</translation>
    </message>
    <message>
      <source>Kind</source>
      <translation>Art</translation>
    </message>
    <message>
      <source>Layers</source>
      <translation>Layer</translation>
    </message>
    <message>
      <source>the active layer</source>
      <translation>dem aktiven Layer</translation>
    </message>
    <message>
      <source>New catalogue…</source>
      <translation>Neuer Katalog…</translation>
    </message>
    <message>
      <source>Best model present</source>
      <translation>Bestes vorhandenes Modell</translation>
    </message>
    <message>
      <source>{0} cannot count: its counts are no better than a constant guess (see its model card)</source>
      <translation>{0} kann nicht zählen: seine Zählungen sind nicht besser als eine konstante Schätzung (siehe seine Modellkarte)</translation>
    </message>
    <message>
      <source>Estimate how many of the object each tile holds (1 to 10)</source>
      <translation>Schätzen, wie viele des Objekts jede Kachel enthält (1 bis 10)</translation>
    </message>
    <message>
      <source>Select a raster layer first</source>
      <translation>Zuerst einen Rasterlayer auswählen</translation>
    </message>
    <message>
      <source>Enter the classes to classify into, one per line</source>
      <translation>Die Klassen für die Klassifizierung eingeben, eine pro Zeile</translation>
    </message>
    <message>
      <source>Zero-shot classification needs at least two classes</source>
      <translation>Die Zero-Shot-Klassifizierung braucht mindestens zwei Klassen</translation>
    </message>
    <message>
      <source>Enter an object to count, e.g. storage tank</source>
      <translation>Ein zu zählendes Objekt eingeben, z. B. storage tank</translation>
    </message>
    <message>
      <source>Select a result to zoom to</source>
      <translation>Ein Ergebnis zum Hinzoomen auswählen</translation>
    </message>
    <message>
      <source>Fraction of a tile shared with its neighbour (the plugin's default: {0})</source>
      <translation>Anteil einer Kachel, den sie mit ihrer Nachbarin teilt (Standard des Plugins: {0})</translation>
    </message>
    <message>
      <source>{0:g} m = {1} px on this layer</source>
      <translation>{0:g} m = {1} px auf diesem Layer</translation>
    </message>
    <message>
      <source>{0} px = {1:g} m on this layer</source>
      <translation>{0} px = {1:g} m auf diesem Layer</translation>
    </message>
    <message>
      <source>model's default: {0:g} m = {1} px on this layer</source>
      <translation>Standard des Modells: {0:g} m = {1} px auf diesem Layer</translation>
    </message>
    <message>
      <source>model's default: {0:g} m on the ground (its input size without a CRS)</source>
      <translation>Standard des Modells: {0:g} m am Boden (ohne KBS seine Eingabegröße)</translation>
    </message>
    <message>
      <source>Backend stopped (it starts with the first job, or press Refresh)</source>
      <translation>Backend gestoppt (es startet mit dem ersten Auftrag oder mit „Aktualisieren“)</translation>
    </message>
    <message>
      <source>{0:g} m tiles (no layer with a CRS selected)</source>
      <translation>Kacheln von {0:g} m (kein Layer mit KBS ausgewählt)</translation>
    </message>
    <message>
      <source>{0} px tiles</source>
      <translation>Kacheln von {0} px</translation>
    </message>
    <message>
      <source>Remote backend at {0} (press Refresh to check)</source>
      <translation>Entferntes Backend unter {0} („Aktualisieren“ prüft es)</translation>
    </message>
    <message>
      <source>{0}: weights downloaded</source>
      <translation>{0}: Gewichte heruntergeladen</translation>
    </message>
    <message>
      <source>Backend running at {0} (version {1}); models with weights: {2}</source>
      <translation>Backend läuft unter {0} (Version {1}); Modelle mit Gewichten: {2}</translation>
    </message>
    <message>
      <source>none</source>
      <translation>keine</translation>
    </message>
    <message>
      <source>Backend stopped: {0}</source>
      <translation>Backend gestoppt: {0}</translation>
    </message>
    <message>
      <source>The active layer "{0}" is not a raster layer: select a raster layer</source>
      <translation>Der aktive Layer „{0}“ ist kein Rasterlayer: einen Rasterlayer auswählen</translation>
    </message>
    <message>
      <source>The layers of "{0}" are no longer in the project</source>
      <translation>Die Layer von „{0}“ sind nicht mehr im Projekt</translation>
    </message>
    <message>
      <source>catalogue {0} ({1} rasters)</source>
      <translation>Katalog {0} ({1} Raster)</translation>
    </message>
    <message>
      <source>catalogue {0} (new)</source>
      <translation>Katalog {0} (neu)</translation>
    </message>
    <message>
      <source>Backend running at {0}</source>
      <translation>Backend läuft unter {0}</translation>
    </message>
    <message>
      <source>Download of {0} cancelled: nothing was kept</source>
      <translation>Herunterladen von {0} abgebrochen: nichts wurde behalten</translation>
    </message>
    <message>
      <source>Download of {0} failed: {1}</source>
      <translation>Herunterladen von {0} fehlgeschlagen: {1}</translation>
    </message>
    <message>
      <source>RemoteCLIP: creating the backend environment</source>
      <translation>RemoteCLIP: Backend-Umgebung wird erstellt</translation>
    </message>
    <message>
      <source>Backend environment not created: cancelled</source>
      <translation>Backend-Umgebung nicht erstellt: abgebrochen</translation>
    </message>
    <message>
      <source>Cannot create the backend environment: {0}</source>
      <translation>Die Backend-Umgebung kann nicht erstellt werden: {0}</translation>
    </message>
    <message>
      <source>{0} was not downloaded (cancelled): download it from the RemoteCLIP panel</source>
      <translation>{0} wurde nicht heruntergeladen (abgebrochen): laden Sie es im RemoteCLIP-Bedienfeld herunter</translation>
    </message>
    <message>
      <source>{0} was not downloaded ({1}): download it from the RemoteCLIP panel</source>
      <translation>{0} wurde nicht heruntergeladen ({1}): laden Sie es im RemoteCLIP-Bedienfeld herunter</translation>
    </message>
    <message>
      <source>Backend environment ready: {0} (torch {1})</source>
      <translation>Backend-Umgebung bereit: {0} (torch {1})</translation>
    </message>
    <message>
      <source>The backend environment could not be created</source>
      <translation>Die Backend-Umgebung konnte nicht erstellt werden</translation>
    </message>
    <message>
      <source>RemoteCLIP: embed raster</source>
      <translation>RemoteCLIP: Raster einbetten</translation>
    </message>
    <message>
      <source>embed</source>
      <translation>einbetten</translation>
    </message>
    <message>
      <source>classify</source>
      <translation>klassifizieren</translation>
    </message>
    <message>
      <source>count</source>
      <translation>zählen</translation>
    </message>
    <message>
      <source>tiles similar to</source>
      <translation>ähnliche Kacheln zu</translation>
    </message>
    <message>
      <source>{0} (before) and {1} (after)</source>
      <translation>{0} (vorher) und {1} (nachher)</translation>
    </message>
    <message>
      <source>Embedding this raster with {0} will take {1}.

It runs in the background and can be cancelled from the task manager; later searches of this raster are instant. Start now?</source>
      <translation>Das Einbetten dieses Rasters mit {0} kostet {1}.

Es läuft im Hintergrund und kann im Task-Manager abgebrochen werden; spätere Suchen in diesem Raster sind sofort da. Jetzt starten?</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0} '{1}' on {2}</source>
      <translation>RemoteCLIP: {0} '{1}' auf {2}</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0}</source>
      <translation>RemoteCLIP: {0}</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0} on {1}</source>
      <translation>RemoteCLIP: {0} auf {1}</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0} {1}</source>
      <translation>RemoteCLIP: {0} {1}</translation>
    </message>
    <message>
      <source>Embedding {0}: {1}</source>
      <translation>Einbetten {0}: {1}</translation>
    </message>
    <message>
      <source>{0} (embedding: {1})</source>
      <translation>{0} (Einbettung: {1})</translation>
    </message>
    <message>
      <source>Not embedded: {0}</source>
      <translation>Nicht eingebettet: {0}</translation>
    </message>
    <message>
      <source>RemoteCLIP marks</source>
      <translation>RemoteCLIP-Markierungen</translation>
    </message>
    <message>
      <source>example</source>
      <translation>Beispiel</translation>
    </message>
    <message>
      <source>negative (counter-example)</source>
      <translation>negative (Gegenbeispiel)</translation>
    </message>
    <message>
      <source>Type a label for the marks first (e.g. forest); a right click marks a counter-example</source>
      <translation>Zuerst eine Beschriftung für die Markierungen eingeben (z. B. Wald); ein Rechtsklick markiert ein Gegenbeispiel</translation>
    </message>
    <message>
      <source>{0} (choose a weights file)</source>
      <translation>{0} (Gewichtsdatei wählen)</translation>
    </message>
    <message>
      <source>the download failed</source>
      <translation>das Herunterladen ist fehlgeschlagen</translation>
    </message>
    <message>
      <source>Download</source>
      <translation>Herunterladen</translation>
    </message>
    <message>
      <source>Choose file…</source>
      <translation>Datei wählen…</translation>
    </message>
    <message>
      <source>A checkpoint file of this model (.pt) on the machine the backend runs on</source>
      <translation>Eine Checkpoint-Datei dieses Modells (.pt) auf dem Rechner, auf dem das Backend läuft</translation>
    </message>
    <message>
      <source>Checkpoints (*.pt *.pth *.bin *.safetensors);;All files (*)</source>
      <translation>Checkpoints (*.pt *.pth *.bin *.safetensors);;Alle Dateien (*)</translation>
    </message>
    <message>
      <source>{0} (weights present)</source>
      <translation>{0} (Gewichte vorhanden)</translation>
    </message>
    <message>
      <source>{0} (download, {1})</source>
      <translation>{0} (herunterladen, {1})</translation>
    </message>
    <message>
      <source>{0} (download)</source>
      <translation>{0} (herunterladen)</translation>
    </message>
    <message>
      <source>RemoteCLIP: download {0}</source>
      <translation>RemoteCLIP: {0} herunterladen</translation>
    </message>
    <message>
      <source>Its weights are not on the backend's machine yet</source>
      <translation>Seine Gewichte sind noch nicht auf dem Rechner des Backends</translation>
    </message>
    <message>
      <source>Its weights are not on the backend's machine: choose its weights file</source>
      <translation>Seine Gewichte sind nicht auf dem Rechner des Backends: wählen Sie seine Gewichtsdatei</translation>
    </message>
    <message>
      <source>Weights file for {0}</source>
      <translation>Gewichtsdatei für {0}</translation>
    </message>
    <message>
      <source>Weights file: {0}</source>
      <translation>Gewichtsdatei: {0}</translation>
    </message>
    <message>
      <source>Downloading {0}…</source>
      <translation>{0} wird heruntergeladen…</translation>
    </message>
    <message>
      <source>Download ({0})</source>
      <translation>Herunterladen ({0})</translation>
    </message>
    <message>
      <source>Overlap must be a fraction from 0 to 0.9</source>
      <translation>Die Überlappung muss ein Anteil von 0 bis 0,9 sein</translation>
    </message>
    <message>
      <source>Bands: give one band or three (numbers from 1), e.g. 3,2,1</source>
      <translation>Bänder: ein Band oder drei angeben (Nummern ab 1), z. B. 3,2,1</translation>
    </message>
    <message>
      <source>classes: {0}</source>
      <translation>Klassen: {0}</translation>
    </message>
    <message>
      <source>similar to the tile at {0}, {1}</source>
      <translation>ähnlich der Kachel bei {0}, {1}</translation>
    </message>
    <message>
      <source>more like these: {0}</source>
      <translation>mehr wie diese: {0}</translation>
    </message>
    <message>
      <source>'{0}' in catalogue {1}</source>
      <translation>'{0}' im Katalog {1}</translation>
    </message>
    <message>
      <source>Bands must be band numbers, e.g. 3,2,1</source>
      <translation>Bänder müssen Bandnummern sein, z. B. 3,2,1</translation>
    </message>
    <message>
      <source>classes: {0} classes</source>
      <translation>Klassen: {0} Klassen</translation>
    </message>
    <message>
      <source>similar to tile {0}</source>
      <translation>ähnlich Kachel {0}</translation>
    </message>
    <message>
      <source>change toward {0}</source>
      <translation>Veränderung hin zu {0}</translation>
    </message>
    <message>
      <source>more like these: {0} labels</source>
      <translation>mehr wie diese: {0} Beschriftungen</translation>
    </message>
    <message>
      <source>Precision must be one of: {0}</source>
      <translation>Die Genauigkeit muss eine der folgenden sein: {0}</translation>
    </message>
    <message>
      <source>RemoteCLIP search</source>
      <translation>RemoteCLIP-Suche</translation>
    </message>
    <message>
      <source>RemoteCLIP: backend environment</source>
      <translation>RemoteCLIP: Backend-Umgebung</translation>
    </message>
    <message>
      <source>&amp;RemoteCLIP</source>
      <translation>&amp;RemoteCLIP</translation>
    </message>
    <message>
      <source>RemoteCLIP runs its model in a Python environment of its own (QGIS's Python cannot carry PyTorch). Create it now?

{0}

This downloads the pinned packages once; it runs in the background and can be cancelled.</source>
      <translation>RemoteCLIP führt sein Modell in einer eigenen Python-Umgebung aus (das Python von QGIS kann PyTorch nicht tragen). Jetzt erstellen?

{0}

Die festgelegten Pakete werden einmal heruntergeladen; das läuft im Hintergrund und kann abgebrochen werden.</translation>
    </message>
    <message>
      <source>Search the raster, e.g. lake</source>
      <translation>Raster durchsuchen, z. B. See</translation>
    </message>
    <message>
      <source>RemoteCLIP: type a phrase and press Enter to search the active raster layer (it is embedded once, the first time)</source>
      <translation>RemoteCLIP: Suchbegriff eingeben und Eingabetaste drücken, um den aktiven Rasterlayer zu durchsuchen (er wird beim ersten Mal einmalig eingebettet)</translation>
    </message>
    <message>
      <source>Find similar tiles: click on the map</source>
      <translation>Ähnliche Kacheln finden: auf die Karte klicken</translation>
    </message>
    <message>
      <source>RemoteCLIP settings…</source>
      <translation>RemoteCLIP-Einstellungen…</translation>
    </message>
    <message>
      <source>Create the backend environment…</source>
      <translation>Backend-Umgebung erstellen…</translation>
    </message>
    <message>
      <source>RemoteCLIP panel</source>
      <translation>RemoteCLIP-Bedienfeld</translation>
    </message>
    <message>
      <source>Select a raster layer to search first</source>
      <translation>Bitte zuerst einen Rasterlayer zum Durchsuchen auswählen</translation>
    </message>
    <message>
      <source>The backend environment is being created: see the task manager</source>
      <translation>Die Backend-Umgebung wird gerade erstellt: siehe Task-Manager</translation>
    </message>
    <message>
      <source>RemoteCLIP needs its backend environment: create it from the RemoteCLIP menu, or choose a Python with its packages in the settings</source>
      <translation>RemoteCLIP braucht seine Backend-Umgebung: erstellen Sie sie im RemoteCLIP-Menü oder wählen Sie in den Einstellungen ein Python mit seinen Paketen</translation>
    </message>
    <message>
      <source>Search catalogue {0} for "{1}"</source>
      <translation>Katalog {0} nach "{1}" durchsuchen</translation>
    </message>
    <message>
      <source>Search the active raster for "{0}"</source>
      <translation>Aktiven Raster nach „{0}“ durchsuchen</translation>
    </message>
    <message>
      <source>No backend package found beside the plugin: reinstall the plugin ZIP</source>
      <translation>Kein Backend-Paket neben dem Plugin gefunden: installieren Sie das Plugin-ZIP neu</translation>
    </message>
    <message>
      <source>Creating the backend environment (progress in the task manager, log: {0})</source>
      <translation>Backend-Umgebung wird erstellt (Fortschritt im Task-Manager, Protokoll: {0})</translation>
    </message>
    <message>
      <source>Backend environment ready: {0}</source>
      <translation>Backend-Umgebung bereit: {0}</translation>
    </message>
    <message>
      <source>{0}: already running (see its progress)</source>
      <translation>{0}: läuft bereits (siehe seinen Fortschritt)</translation>
    </message>
    <message>
      <source>{0}: waits for the embedding already running ({1})</source>
      <translation>{0}: wartet auf die bereits laufende Einbettung ({1})</translation>
    </message>
    <message>
      <source>Catalogue {0} cannot be searched until {1} is embedded again</source>
      <translation>Katalog {0} kann erst durchsucht werden, wenn {1} erneut eingebettet ist</translation>
    </message>
    <message>
      <source>Raster layer</source>
      <translation>Rasterlayer</translation>
    </message>
    <message>
      <source>Embed raster</source>
      <translation>Raster einbetten</translation>
    </message>
    <message>
      <source>Cut the raster into tiles and compute their RemoteCLIP embeddings, so that searches, classifications and counts on it answer at once.</source>
      <translation>Zerlegt den Raster in Kacheln und berechnet ihre RemoteCLIP-Einbettungen, damit Suchen, Klassifikationen und Zählungen darauf sofort antworten.</translation>
    </message>
    <message>
      <source>Text search</source>
      <translation>Textsuche</translation>
    </message>
    <message>
      <source>Rank the raster's tiles by their similarity to a phrase (several phrases separated by ';' are averaged). Outputs the best tiles (rank, score) and a similarity surface.</source>
      <translation>Ordnet die Kacheln des Rasters nach ihrer Ähnlichkeit zu einem Suchbegriff (mehrere, durch ';' getrennte Begriffe werden gemittelt). Ausgabe: die besten Kacheln (Rang, Wert) und eine Ähnlichkeitsfläche.</translation>
    </message>
    <message>
      <source>Zero-shot classification</source>
      <translation>Zero-Shot-Klassifikation</translation>
    </message>
    <message>
      <source>Give every tile the most likely of the listed classes (separated by commas) with the probability of each class.</source>
      <translation>Weist jeder Kachel die wahrscheinlichste der angegebenen Klassen (durch Kommas getrennt) zu, mit der Wahrscheinlichkeit jeder Klasse.</translation>
    </message>
    <message>
      <source>Count objects</source>
      <translation>Objekte zählen</translation>
    </message>
    <message>
      <source>Estimate how many of an object (e.g. 'storage tank') each tile holds, 1 to 10, with the expected count and a confidence.</source>
      <translation>Schätzt, wie viele eines Objekts (z. B. 'storage tank') jede Kachel enthält, 1 bis 10, mit erwarteter Anzahl und Konfidenz.</translation>
    </message>
    <message>
      <source>Similar tiles</source>
      <translation>Ähnliche Kacheln</translation>
    </message>
    <message>
      <source>Find the tiles that look most like the tile under an example point.</source>
      <translation>Findet die Kacheln, die der Kachel unter einem Beispielpunkt am ähnlichsten sehen.</translation>
    </message>
    <message>
      <source>Before (the earlier raster)</source>
      <translation>Vorher (das frühere Raster)</translation>
    </message>
    <message>
      <source>Compare two rasters of the same place tile by tile (the later one is put on the grid of the earlier one): the most changed tiles (change = 1 - cosine of their embeddings) and the change of every tile. With a phrase, tiles rank by how much closer they came to it (gain).</source>
      <translation>Zwei Raster desselben Ortes Kachel für Kachel vergleichen (das spätere wird auf das Gitter des früheren gelegt): die am stärksten veränderten Kacheln (Veränderung = 1 - Kosinus ihrer Embeddings) und die Veränderung jeder Kachel. Mit einer Phrase werden die Kacheln danach geordnet, wie viel näher sie ihr kamen (Zugewinn).</translation>
    </message>
    <message>
      <source>More like these (few-shot from marked tiles)</source>
      <translation>Mehr wie diese (Few-Shot aus markierten Kacheln)</translation>
    </message>
    <message>
      <source>Learn from marked examples (points or polygons with a label) over the raster's tiles: with two or more labels every tile gets a class and the probability of each; with one label (and counter-examples labelled 'negative') the tiles most like the examples, ranked. The examples are sent as GeoJSON in their layer's CRS, so this works with a remote backend too.</source>
      <translation>Aus markierten Beispielen (Punkte oder Polygone mit Beschriftung) über den Kacheln des Rasters lernen: mit zwei oder mehr Beschriftungen erhält jede Kachel eine Klasse und die Wahrscheinlichkeit jeder Klasse; mit einer Beschriftung (und Gegenbeispielen mit der Beschriftung 'negative') die den Beispielen ähnlichsten Kacheln, geordnet. Die Beispiele werden als GeoJSON im KBS ihres Layers gesendet, das funktioniert also auch mit einem entfernten Backend.</translation>
    </message>
    <message>
      <source>Model (empty: the best one whose weights are present)</source>
      <translation>Modell (leer: das beste, dessen Gewichte vorhanden sind)</translation>
    </message>
    <message>
      <source>Precision (empty: the plugin's setting; int8: the fast CPU path, cached apart from exact)</source>
      <translation>Genauigkeit (leer: die Einstellung des Plugins; int8: der schnelle CPU-Pfad, getrennt von exakt zwischengespeichert)</translation>
    </message>
    <message>
      <source>The raster is embedded once per model and tiling (a background job with progress; cancelling stops it) and cached by the backend; later queries on it are fast. Tile size: pixels, or metres on the ground (converted with the raster's true scale, as the dock does); 0 for both uses the plugin's tiling (the dock's Tiling panel), else the model's default (its training ground size where the raster's pixel size is known, else its input size). Overlap: 0.25 unless set.</source>
      <translation>Das Raster wird einmal je Modell und Kachelung eingebettet (ein Hintergrundauftrag mit Fortschritt; Abbrechen hält ihn an) und vom Backend zwischengespeichert; spätere Abfragen darauf sind schnell. Kachelgröße: Pixel oder Meter am Boden (mit dem wahren Maßstab des Rasters umgerechnet, wie im Panel); 0 für beide nimmt die Kachelung des Plugins (das Kachelung-Feld des Panels), sonst den Standard des Modells (seine Trainings-Bodengröße, wo die Pixelgröße des Rasters bekannt ist, sonst seine Eingabegröße). Überlappung: 0,25, sofern nicht gesetzt.</translation>
    </message>
    <message>
      <source>Mode (auto: classes with two or more labels, a ranking with one)</source>
      <translation>Modus (auto: Klassen bei zwei oder mehr Beschriftungen, eine Rangfolge bei einer)</translation>
    </message>
    <message>
      <source>Tile size in pixels (0: use the ground size, else the plugin's tiling)</source>
      <translation>Kachelgröße in Pixeln (0: die Bodengröße verwenden, sonst die Kachelung des Plugins)</translation>
    </message>
    <message>
      <source>Tile size on the ground in metres (0: use the pixel size)</source>
      <translation>Kachelgröße am Boden in Metern (0: die Pixelgröße verwenden)</translation>
    </message>
    <message>
      <source>Tile overlap (fraction, 0 to 0.9)</source>
      <translation>Kachelüberlappung (Anteil, 0 bis 0,9)</translation>
    </message>
    <message>
      <source>Bands used as red, green, blue (1 or 3; empty: automatic)</source>
      <translation>Bänder als Rot, Grün, Blau (1 oder 3; leer: automatisch)</translation>
    </message>
    <message>
      <source>Model weights file (empty: the registry's)</source>
      <translation>Datei mit Modellgewichten (leer: die aus dem Modellverzeichnis)</translation>
    </message>
    <message>
      <source>Area to render, for layers without a file (web, tile, virtual; empty: the layer's extent)</source>
      <translation>Zu rendernder Bereich für Layer ohne Datei (Web, Kacheln, virtuell; leer: Ausdehnung des Layers)</translation>
    </message>
    <message>
      <source>Pixel size to render at, in the layer's units (0: the layer's own, or 4096 pixels across)</source>
      <translation>Pixelgröße beim Rendern, in Einheiten des Layers (0: die des Layers, oder 4096 Pixel Breite)</translation>
    </message>
    <message>
      <source>No raster layer given</source>
      <translation>Kein Rasterlayer angegeben</translation>
    </message>
    <message>
      <source>Connecting to the RemoteCLIP backend</source>
      <translation>Verbindung zum RemoteCLIP-Backend wird hergestellt</translation>
    </message>
    <message>
      <source>Number of tiles</source>
      <translation>Anzahl der Kacheln</translation>
    </message>
    <message>
      <source>Embedding store</source>
      <translation>Einbettungsspeicher</translation>
    </message>
    <message>
      <source>Search phrase</source>
      <translation>Suchbegriff</translation>
    </message>
    <message>
      <source>Number of hits</source>
      <translation>Anzahl der Treffer</translation>
    </message>
    <message>
      <source>Similarity</source>
      <translation>Ähnlichkeit</translation>
    </message>
    <message>
      <source>Best score</source>
      <translation>Bester Wert</translation>
    </message>
    <message>
      <source>Type a phrase to search for</source>
      <translation>Bitte einen Suchbegriff eingeben</translation>
    </message>
    <message>
      <source>Classes (separated by commas)</source>
      <translation>Klassen (durch Kommas getrennt)</translation>
    </message>
    <message>
      <source>Transductive: classify all tiles together (TransCLIP)</source>
      <translation>Transduktiv: alle Kacheln gemeinsam klassifizieren (TransCLIP)</translation>
    </message>
    <message>
      <source>Classes</source>
      <translation>Klassen</translation>
    </message>
    <message>
      <source>Class shares (JSON)</source>
      <translation>Klassenanteile (JSON)</translation>
    </message>
    <message>
      <source>List at least two classes</source>
      <translation>Bitte mindestens zwei Klassen angeben</translation>
    </message>
    <message>
      <source>Object to count</source>
      <translation>Zu zählendes Objekt</translation>
    </message>
    <message>
      <source>Counts</source>
      <translation>Anzahlen</translation>
    </message>
    <message>
      <source>Expected total</source>
      <translation>Erwartete Gesamtzahl</translation>
    </message>
    <message>
      <source>Name the object to count</source>
      <translation>Bitte das zu zählende Objekt angeben</translation>
    </message>
    <message>
      <source>Example point</source>
      <translation>Beispielpunkt</translation>
    </message>
    <message>
      <source>Number of similar tiles</source>
      <translation>Anzahl ähnlicher Kacheln</translation>
    </message>
    <message>
      <source>Example tile</source>
      <translation>Beispielkachel</translation>
    </message>
    <message>
      <source>After (the later raster)</source>
      <translation>Nachher (das spätere Raster)</translation>
    </message>
    <message>
      <source>Phrase: what appeared (optional; ';' separates phrases, averaged)</source>
      <translation>Phrase: was hinzukam (optional; ';' trennt Phrasen, gemittelt)</translation>
    </message>
    <message>
      <source>Number of changed tiles</source>
      <translation>Anzahl veränderter Kacheln</translation>
    </message>
    <message>
      <source>Most changed tiles</source>
      <translation>Am stärksten veränderte Kacheln</translation>
    </message>
    <message>
      <source>Change of every tile</source>
      <translation>Veränderung jeder Kachel</translation>
    </message>
    <message>
      <source>Tiles compared</source>
      <translation>Verglichene Kacheln</translation>
    </message>
    <message>
      <source>Mean change</source>
      <translation>Mittlere Veränderung</translation>
    </message>
    <message>
      <source>No raster layer given for the later date</source>
      <translation>Kein Rasterlayer für den späteren Zeitpunkt angegeben</translation>
    </message>
    <message>
      <source>Marked examples (points or polygons)</source>
      <translation>Markierte Beispiele (Punkte oder Polygone)</translation>
    </message>
    <message>
      <source>Label field (empty: label)</source>
      <translation>Beschriftungsfeld (leer: label)</translation>
    </message>
    <message>
      <source>Number of hits (a ranking)</source>
      <translation>Anzahl der Treffer (eine Rangfolge)</translation>
    </message>
    <message>
      <source>Use the labels' words as a hint (a label that is a phrase adds its text embedding)</source>
      <translation>Die Wörter der Beschriftungen als Hinweis nutzen (eine Beschriftung, die eine Phrase ist, fügt ihr Text-Embedding hinzu)</translation>
    </message>
    <message>
      <source>Classes, or the hits of a ranking</source>
      <translation>Klassen oder die Treffer einer Rangfolge</translation>
    </message>
    <message>
      <source>Scores of every tile (a ranking)</source>
      <translation>Bewertung jeder Kachel (eine Rangfolge)</translation>
    </message>
    <message>
      <source>Mode used</source>
      <translation>Verwendeter Modus</translation>
    </message>
    <message>
      <source>No layer of examples given</source>
      <translation>Kein Layer mit Beispielen angegeben</translation>
    </message>
    <message>
      <source>Cancelled</source>
      <translation>Abgebrochen</translation>
    </message>
    <message>
      <source>{0} tiles embedded</source>
      <translation>{0} Kacheln eingebettet</translation>
    </message>
    <message>
      <source>{0} tiles compared, mean change {1:.4f}</source>
      <translation>{0} Kacheln verglichen, mittlere Veränderung {1:.4f}</translation>
    </message>
    <message>
      <source>Layer '{0}' has no file the backend can read: rendering it, {1} x {2} pixels</source>
      <translation>Layer '{0}' hat keine Datei, die das Backend lesen kann: er wird gerendert, {1} x {2} Pixel</translation>
    </message>
    <message>
      <source>The backend wrote no '{0}' layer in {1}</source>
      <translation>Das Backend hat keinen Layer '{0}' in {1} geschrieben</translation>
    </message>
    <message>
      <source>The examples have no field '{0}'</source>
      <translation>Die Beispiele haben kein Feld '{0}'</translation>
    </message>
    <message>
      <source>Sent to the backend as {0}</source>
      <translation>An das Backend gesendet als {0}</translation>
    </message>
    <message>
      <source>Embedding: {0}</source>
      <translation>Einbetten: {0}</translation>
    </message>
    <message>
      <source>Embedding (job {0})</source>
      <translation>Einbettung (Auftrag {0})</translation>
    </message>
    <message>
      <source>The map canvas shows nothing to search yet</source>
      <translation>Die Karte zeigt noch nichts zum Durchsuchen</translation>
    </message>
    <message>
      <source>Rendering cancelled</source>
      <translation>Rendern abgebrochen</translation>
    </message>
    <message>
      <source>Layer '{0}' has no data in the area to search: pan or zoom to it</source>
      <translation>Layer '{0}' hat keine Daten im Suchbereich: verschieben oder zoomen Sie dorthin</translation>
    </message>
    <message>
      <source>Rendering '{0}' at this resolution needs {1} x {2} pixels (over {3} million): zoom in, or choose a smaller extent or a larger pixel size</source>
      <translation>Das Rendern von '{0}' in dieser Auflösung braucht {1} x {2} Pixel (über {3} Millionen): hineinzoomen oder einen kleineren Bereich oder größere Pixel wählen</translation>
    </message>
    <message>
      <source>Cannot open layer '{0}' for rendering: {1}</source>
      <translation>Layer '{0}' kann zum Rendern nicht geöffnet werden: {1}</translation>
    </message>
    <message>
      <source>Layer '{0}' cannot be rendered (provider {1})</source>
      <translation>Layer '{0}' kann nicht gerendert werden (Provider {1})</translation>
    </message>
    <message>
      <source>Rendering '{0}' failed (QgsRasterFileWriter error {1})</source>
      <translation>Rendern von '{0}' fehlgeschlagen (QgsRasterFileWriter-Fehler {1})</translation>
    </message>
    <message>
      <source>Layer '{0}' has no extent of its own (a web or tile layer): choose the extent to search</source>
      <translation>Layer '{0}' hat keine eigene Ausdehnung (Web- oder Kachel-Layer): wählen Sie den Suchbereich</translation>
    </message>
    <message>
      <source>Cannot convert {0} to a GeoTIFF to send it: {1}</source>
      <translation>{0} kann nicht zum Senden in ein GeoTIFF umgewandelt werden: {1}</translation>
    </message>
    <message>
      <source>heatmap</source>
      <translation>Heatmap</translation>
    </message>
    <message>
      <source>class map</source>
      <translation>Klassenkarte</translation>
    </message>
    <message>
      <source>hits</source>
      <translation>Treffer</translation>
    </message>
    <message>
      <source>similarity</source>
      <translation>Ähnlichkeit</translation>
    </message>
    <message>
      <source>most changed</source>
      <translation>am stärksten verändert</translation>
    </message>
    <message>
      <source>scores</source>
      <translation>Bewertungen</translation>
    </message>
    <message>
      <source>cosine {0} to {1}</source>
      <translation>Kosinus {0} bis {1}</translation>
    </message>
    <message>
      <source>top {0}–{1} % ({2})</source>
      <translation>beste {0}–{1} % ({2})</translation>
    </message>
    <message>
      <source>change {0} to {1}</source>
      <translation>Veränderung {0} bis {1}</translation>
    </message>
    <message>
      <source>gain {0} to {1}</source>
      <translation>Zugewinn {0} bis {1}</translation>
    </message>
    <message>
      <source>score {0} to {1}</source>
      <translation>Bewertung {0} bis {1}</translation>
    </message>
    <message>
      <source>top {0} % ({1})</source>
      <translation>beste {0} % ({1})</translation>
    </message>
    <message>
      <source>the rest, {0} % ({1})</source>
      <translation>der Rest, {0} % ({1})</translation>
    </message>
    <message>
      <source>result</source>
      <translation>Ergebnis</translation>
    </message>
    <message>
      <source>Results are saved in {0}: the project is not saved (or its folder cannot be written). Save the project to keep them beside it, or choose an output folder in the RemoteCLIP settings.</source>
      <translation>Ergebnisse werden in {0} gespeichert: Das Projekt ist nicht gespeichert (oder sein Ordner ist nicht beschreibbar). Speichern Sie das Projekt, um sie daneben abzulegen, oder wählen Sie einen Ausgabeordner in den RemoteCLIP-Einstellungen.</translation>
    </message>
    <message>
      <source>Test connection: the backend's Python environment is missing (create it from the RemoteCLIP menu)</source>
      <translation>Verbindung testen: die Python-Umgebung des Backends fehlt (im RemoteCLIP-Menü erstellen)</translation>
    </message>
    <message>
      <source>RemoteCLIP settings</source>
      <translation>RemoteCLIP-Einstellungen</translation>
    </message>
    <message>
      <source>RemoteCLIP runs its model in a backend process of its own. Local: the plugin starts it with the Python below (empty: the environment it creates on first use). Remote: it connects to a backend started elsewhere (python -m backend serve, e.g. on a GPU workstation through an SSH tunnel), with the URL and token from that backend's state file; files on this machine are uploaded to it. The model is chosen in the RemoteCLIP panel.</source>
      <translation>RemoteCLIP führt sein Modell in einem eigenen Backend-Prozess aus. Lokal: das Plugin startet ihn mit dem Python unten (leer: die Umgebung, die es bei der ersten Verwendung erstellt). Entfernt: es verbindet sich mit einem anderswo gestarteten Backend (python -m backend serve, z. B. auf einer GPU-Workstation über einen SSH-Tunnel), mit URL und Token aus der Statusdatei dieses Backends; Dateien dieses Rechners werden dorthin hochgeladen. Das Modell wird im RemoteCLIP-Bedienfeld gewählt.</translation>
    </message>
    <message>
      <source>Start a local backend</source>
      <translation>Lokales Backend starten</translation>
    </message>
    <message>
      <source>Connect to a running backend</source>
      <translation>Mit laufendem Backend verbinden</translation>
    </message>
    <message>
      <source>The Python that runs the backend (it needs the backend's packages)</source>
      <translation>Das Python, das das Backend ausführt (es braucht die Pakete des Backends)</translation>
    </message>
    <message>
      <source>Python interpreter</source>
      <translation>Python-Interpreter</translation>
    </message>
    <message>
      <source>the best Python 3.10+ found</source>
      <translation>das beste gefundene Python 3.10+</translation>
    </message>
    <message>
      <source>Python to create the backend environment from</source>
      <translation>Python, aus dem die Backend-Umgebung erstellt wird</translation>
    </message>
    <message>
      <source>auto: CUDA wheels with an NVIDIA GPU, CPU wheels without; pypi: PyPI's build; or the URL of a package index</source>
      <translation>auto: CUDA-Wheels mit NVIDIA-GPU, CPU-Wheels ohne; pypi: der Build von PyPI; oder die URL eines Paketindex</translation>
    </message>
    <message>
      <source>PyTorch build</source>
      <translation>PyTorch-Build</translation>
    </message>
    <message>
      <source>The remote backend's address (its state file's url)</source>
      <translation>Die Adresse des entfernten Backends (url in seiner Statusdatei)</translation>
    </message>
    <message>
      <source>Backend URL</source>
      <translation>Backend-URL</translation>
    </message>
    <message>
      <source>The remote backend's bearer token (its state file's token)</source>
      <translation>Das Bearer-Token des entfernten Backends (token in seiner Statusdatei)</translation>
    </message>
    <message>
      <source>Token</source>
      <translation>Token</translation>
    </message>
    <message>
      <source>Test connection</source>
      <translation>Verbindung testen</translation>
    </message>
    <message>
      <source>Ask the backend configured here for its health and models (a local one is started for the test)</source>
      <translation>Das hier eingestellte Backend nach Zustand und Modellen fragen (ein lokales wird für den Test gestartet)</translation>
    </message>
    <message>
      <source>Jobs</source>
      <translation>Aufträge</translation>
    </message>
    <message>
      <source>never ask</source>
      <translation>nie fragen</translation>
    </message>
    <message>
      <source>Ask before embeddings longer than</source>
      <translation>Vor Einbettungen fragen, die länger dauern als</translation>
    </message>
    <message>
      <source>Test connection: connecting…</source>
      <translation>Verbindung testen: verbinde…</translation>
    </message>
    <message>
      <source>Test connection: no backend URL set</source>
      <translation>Verbindung testen: keine Backend-URL eingestellt</translation>
    </message>
    <message>
      <source>Test connection: ok (backend {0}, {1} models)</source>
      <translation>Verbindung testen: ok (Backend {0}, {1} Modelle)</translation>
    </message>
    <message>
      <source>Test connection: refused (wrong token)</source>
      <translation>Verbindung testen: abgewiesen (falsches Token)</translation>
    </message>
    <message>
      <source>Test connection: refused ({0})</source>
      <translation>Verbindung testen: abgewiesen ({0})</translation>
    </message>
    <message>
      <source>Test connection: failed ({0})</source>
      <translation>Verbindung testen: fehlgeschlagen ({0})</translation>
    </message>
    <message>
      <source>the project's folder; unsaved: {0}</source>
      <translation>Ordner des Projekts; ungespeichert: {0}</translation>
    </message>
    <message>
      <source>Output folder (empty: the project's folder, or {0} while the project is unsaved)</source>
      <translation>Ausgabeordner (leer: Ordner des Projekts, oder {0}, solange das Projekt nicht gespeichert ist)</translation>
    </message>
    <message>
      <source>Test connection: unreachable ({0})</source>
      <translation>Verbindung testen: nicht erreichbar ({0})</translation>
    </message>
    <message>
      <source>Fast (int8)</source>
      <translation type="vanished">Schnell (int8)</translation>
    </message>
    <message>
      <source>Embed with the backend's int8 fast path (about 1.6 times faster on a CPU, nearly the same results); its embeddings are cached apart from exact ones</source>
      <translation type="vanished">Mit dem schnellen int8-Pfad des Backends einbetten (auf einer CPU etwa 1,6-mal schneller, nahezu gleiche Ergebnisse); seine Einbettungen werden getrennt von den exakten zwischengespeichert</translation>
    </message>
    <message>
      <source>Embeddings</source>
      <translation type="vanished">Einbettungen</translation>
    </message>
    <message>
      <source>Tile size (pixels)</source>
      <translation type="vanished">Kachelgröße (Pixel)</translation>
    </message>
    <message>
      <source>The model for the jobs started here</source>
      <translation type="vanished">Das Modell für die hier gestarteten Aufträge</translation>
    </message>
    <message>
      <source>Default ({0})</source>
      <translation type="vanished">Standard ({0})</translation>
    </message>
    <message>
      <source>best model present</source>
      <translation type="vanished">bestes vorhandenes Modell</translation>
    </message>
    <message>
      <source>{0} (no weights)</source>
      <translation type="vanished">{0} (keine Gewichte)</translation>
    </message>
    <message>
      <source>Model (empty: the best one present)</source>
      <translation type="vanished">Modell (leer: das beste vorhandene)</translation>
    </message>
    <message>
      <source>Weights file</source>
      <translation type="vanished">Gewichtsdatei</translation>
    </message>
    <message>
      <source>RemoteCLIP: embedding, {0}</source>
      <translation type="vanished">RemoteCLIP: Einbetten, {0}</translation>
    </message>
    <message>
      <source>Cancelled: {0}</source>
      <translation type="vanished">Abgebrochen: {0}</translation>
    </message>
    <message>
      <source>The raster is embedded once per model and tiling (a background job with progress; cancelling stops it) and cached by the backend; later queries on it are fast. Tile size: pixels, or a distance in the layer's units; 0 for both uses the model's default (its training ground size where the raster's pixel size is known, else its input size).</source>
      <translation type="vanished">Der Raster wird je Modell und Kachelung einmal eingebettet (ein Hintergrundauftrag mit Fortschritt; Abbrechen beendet ihn) und vom Backend zwischengespeichert; spätere Abfragen darauf sind schnell. Kachelgröße: Pixel oder eine Distanz in den Einheiten des Layers; 0 für beide verwendet die Vorgabe des Modells (die Bodengröße seiner Trainingsbilder, wo die Pixelgröße des Rasters bekannt ist, sonst seine Eingabegröße).</translation>
    </message>
    <message>
      <source>Tile size in pixels (0: use the ground size, or the model's default)</source>
      <translation type="vanished">Kachelgröße in Pixeln (0: Bodengröße oder Vorgabe des Modells verwenden)</translation>
    </message>
    <message>
      <source>Tile size on the ground (0: use the pixel size)</source>
      <translation type="vanished">Kachelgröße am Boden (0: Pixelgröße verwenden)</translation>
    </message>
    <message>
      <source>Output folder (empty: the project's folder)</source>
      <translation type="vanished">Ausgabeordner (leer: Ordner des Projekts)</translation>
    </message>
    <message>
      <source>model's input size</source>
      <translation type="vanished">Eingabegröße des Modells</translation>
    </message>
    <message>
      <source>The raster is embedded once per model and tiling (a background job with progress; cancelling stops it) and cached by the backend; later queries on it are fast. Tile size: pixels, or a distance in the layer's units; 0 for both uses the model's input size.</source>
      <translation type="vanished">Der Raster wird je Modell und Kachelung einmal eingebettet (ein Hintergrundauftrag mit Fortschritt; Abbrechen beendet ihn) und vom Backend zwischengespeichert; spätere Abfragen darauf sind schnell. Kachelgröße: Pixel oder eine Distanz in den Einheiten des Layers; 0 für beide verwendet die Eingabegröße des Modells.</translation>
    </message>
    <message>
      <source>Tile size in pixels (0: use the ground size, or the model's input size)</source>
      <translation type="vanished">Kachelgröße in Pixeln (0: Bodengröße oder Eingabegröße des Modells verwenden)</translation>
    </message>
    <message>
      <source>model input size</source>
      <translation type="vanished">Eingabegröße des Modells</translation>
    </message>
    <message>
      <source>Choose 1 or 3 bands, not {0}</source>
      <translation type="vanished">Bitte 1 oder 3 Bänder wählen, nicht {0}</translation>
    </message>
    <message>
      <source>Rendered and sent as {0}</source>
      <translation type="vanished">Gerendert und gesendet als {0}</translation>
    </message>
    <message>
      <source>Layer '{0}' is not a raster file on disk ({1}); save it as a GeoTIFF first (web and tile layers are not supported yet)</source>
      <translation type="vanished">Layer '{0}' ist keine Rasterdatei auf dem Datenträger ({1}); bitte zuerst als GeoTIFF speichern (Web- und Kachellayer werden noch nicht unterstützt)</translation>
    </message>
    <message>
      <source>A checkpoint file of this model on this machine (.pt)</source>
      <translation type="vanished" />
    </message>
    <message>
      <source>Label field</source>
      <translation type="vanished">Beschriftungsfeld</translation>
    </message>
  </context>
</TS>
