<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
  <context>
    <name>RemoteClip</name>
    <message>
      <source>RemoteCLIP: embed again</source>
      <translation>RemoteCLIP : plonger à nouveau</translation>
    </message>
    <message>
      <source>{0} changed on disk since it was embedded in catalogue {1}: its embeddings no longer stand for it.

Embed it again now (in the background; cancel from the task manager), then search again?</source>
      <translation>{0} a changé sur le disque depuis son plongement dans le catalogue {1} : ses plongements ne le représentent plus.

Le plonger à nouveau maintenant (en arrière-plan ; annulable depuis le gestionnaire de tâches), puis relancer la recherche ?</translation>
    </message>
    <message>
      <source>A catalogue's name is 1 to 64 letters, digits, '_', '.' or '-', beginning with a letter or digit: '{0}' is not</source>
      <translation>Le nom d'un catalogue compte 1 à 64 lettres, chiffres, '_', '.' ou '-' et commence par une lettre ou un chiffre : '{0}' ne convient pas</translation>
    </message>
    <message>
      <source>RemoteCLIP: add {0} to catalogue {1}</source>
      <translation>RemoteCLIP : ajouter {0} au catalogue {1}</translation>
    </message>
    <message>
      <source>The catalogue could not be updated</source>
      <translation>Le catalogue n'a pas pu être mis à jour</translation>
    </message>
    <message>
      <source>RemoteCLIP: search {0}</source>
      <translation>RemoteCLIP : recherche {0}</translation>
    </message>
    <message>
      <source>{0}: cancelled</source>
      <translation>{0} : annulé</translation>
    </message>
    <message>
      <source>The task failed</source>
      <translation>La tâche a échoué</translation>
    </message>
    <message>
      <source>Catalogue {0}: {1} rasters, {2} embedded</source>
      <translation>Catalogue {0} : {1} rasters, {2} plongés</translation>
    </message>
    <message>
      <source>{0}: no hits</source>
      <translation>{0} : aucun résultat</translation>
    </message>
    <message>
      <source>Change between two dates</source>
      <translation>Changement entre deux dates</translation>
    </message>
    <message>
      <source>The earlier raster</source>
      <translation>Le raster antérieur</translation>
    </message>
    <message>
      <source>Before</source>
      <translation>Avant</translation>
    </message>
    <message>
      <source>The later raster of the same place (put on the grid of the earlier one when its grid or CRS differ)</source>
      <translation>Le raster ultérieur du même lieu (mis sur la grille de l'antérieur quand sa grille ou son SCR diffèrent)</translation>
    </message>
    <message>
      <source>After</source>
      <translation>Après</translation>
    </message>
    <message>
      <source>optional: what appeared, e.g. new buildings</source>
      <translation>facultatif : ce qui est apparu, p. ex. nouveaux bâtiments</translation>
    </message>
    <message>
      <source>Empty: rank the tiles by how much they changed. A phrase: by how much closer they came to it</source>
      <translation>Vide : classer les tuiles selon l'ampleur de leur changement. Une phrase : selon combien elles s'en sont rapprochées</translation>
    </message>
    <message>
      <source>Phrase</source>
      <translation>Phrase</translation>
    </message>
    <message>
      <source>Tiles</source>
      <translation>Tuiles</translation>
    </message>
    <message>
      <source>Find changes</source>
      <translation>Trouver les changements</translation>
    </message>
    <message>
      <source>More like these</source>
      <translation>Plus comme celles-ci</translation>
    </message>
    <message>
      <source>Raster</source>
      <translation>Raster</translation>
    </message>
    <message>
      <source>label of the marks, e.g. forest</source>
      <translation>étiquette des marques, p. ex. forêt</translation>
    </message>
    <message>
      <source>A left click marks a tile with this label; a right or shift click marks a counter-example ("negative"). Two or more labels give classes, one label a ranking</source>
      <translation>Un clic gauche marque une tuile avec cette étiquette ; un clic droit ou Maj+clic marque un contre-exemple (« negative »). Deux étiquettes ou plus donnent des classes, une seule étiquette un classement</translation>
    </message>
    <message>
      <source>Label</source>
      <translation>Étiquette</translation>
    </message>
    <message>
      <source>Mark</source>
      <translation>Marquer</translation>
    </message>
    <message>
      <source>Click tiles on the map to mark them (right click: counter-example)</source>
      <translation>Cliquer sur des tuiles de la carte pour les marquer (clic droit : contre-exemple)</translation>
    </message>
    <message>
      <source>Clear marks</source>
      <translation>Effacer les marques</translation>
    </message>
    <message>
      <source>Use the labels' words as a hint</source>
      <translation>Utiliser les mots des étiquettes comme indice</translation>
    </message>
    <message>
      <source>A label that is a phrase (forest, bare soil) adds its text embedding as one more example</source>
      <translation>Une étiquette qui est une phrase (forêt, sol nu) ajoute son embedding de texte comme exemple supplémentaire</translation>
    </message>
    <message>
      <source>Hits of a ranking (one label)</source>
      <translation>Résultats d'un classement (une étiquette)</translation>
    </message>
    <message>
      <source>Hits</source>
      <translation>Résultats</translation>
    </message>
    <message>
      <source>Find more like these</source>
      <translation>Trouver plus comme celles-ci</translation>
    </message>
    <message>
      <source>Choose the raster layers of the two dates (before and after)</source>
      <translation>Choisir les couches raster des deux dates (avant et après)</translation>
    </message>
    <message>
      <source>Choose two different raster layers for the two dates</source>
      <translation>Choisir deux couches raster différentes pour les deux dates</translation>
    </message>
    <message>
      <source>No marks yet: press Mark and click tiles on the map</source>
      <translation>Pas encore de marques : appuyer sur Marquer et cliquer sur des tuiles de la carte</translation>
    </message>
    <message>
      <source>Choose the raster layer to find more like the marks in</source>
      <translation>Choisir la couche raster où chercher plus de tuiles comme les marques</translation>
    </message>
    <message>
      <source>Mark some tiles first: type a label, press Mark and click them on the map</source>
      <translation>Marquer d'abord des tuiles : saisir une étiquette, appuyer sur Marquer et cliquer dessus sur la carte</translation>
    </message>
    <message>
      <source>Marks: {0}</source>
      <translation>Marques : {0}</translation>
    </message>
    <message>
      <source>exact (PyTorch)</source>
      <translation>exact (PyTorch)</translation>
    </message>
    <message>
      <source>int8 (PyTorch, faster, nearly the same)</source>
      <translation>int8 (PyTorch, plus rapide, presque identique)</translation>
    </message>
    <message>
      <source>OpenVINO (the same results, faster)</source>
      <translation>OpenVINO (mêmes résultats, plus rapide)</translation>
    </message>
    <message>
      <source>OpenVINO bf16 (fastest, cosine 0.999 to exact)</source>
      <translation>OpenVINO bf16 (le plus rapide, cosinus 0,999 à exact)</translation>
    </message>
    <message>
      <source>RemoteCLIP: new catalogue</source>
      <translation>RemoteCLIP : nouveau catalogue</translation>
    </message>
    <message>
      <source>Name of the new catalogue (letters, digits, '_', '.' or '-'):</source>
      <translation>Nom du nouveau catalogue (lettres, chiffres, '_', '.' ou '-') :</translation>
    </message>
    <message>
      <source>model's default: its input size in pixels (press Refresh to see the model's ground size)</source>
      <translation>défaut du modèle : sa taille d'entrée en pixels (Actualiser montre la taille au sol du modèle)</translation>
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
      <translation>Actualiser</translation>
    </message>
    <message>
      <source>Ask the backend for its health and models (starts a local backend when none is running)</source>
      <translation>Interroger le backend sur son état et ses modèles (démarre un backend local si aucun ne tourne)</translation>
    </message>
    <message>
      <source>The model for every RemoteCLIP job (the toolbar's search too)</source>
      <translation>Le modèle de toutes les tâches RemoteCLIP (la recherche de la barre d'outils aussi)</translation>
    </message>
    <message>
      <source>Model</source>
      <translation>Modèle</translation>
    </message>
    <message>
      <source>Tiling</source>
      <translation>Découpage en tuiles</translation>
    </message>
    <message>
      <source>model's default</source>
      <translation>valeur par défaut du modèle</translation>
    </message>
    <message>
      <source>Tile side in raster pixels. Not set: the model's training ground size where the raster's pixel size is known (remoteclip-qgis-small: 146 m), else its input size</source>
      <translation>Côté de tuile en pixels du raster. Non défini : la taille au sol des images d'entraînement du modèle lorsque la taille de pixel du raster est connue (remoteclip-qgis-small : 146 m), sinon sa taille d'entrée</translation>
    </message>
    <message>
      <source>Tile size</source>
      <translation>Taille des tuiles</translation>
    </message>
    <message>
      <source>not set</source>
      <translation>non défini</translation>
    </message>
    <message>
      <source>Tile side on the ground in metres; when set, it replaces the tile size in pixels</source>
      <translation>Côté des tuiles au sol en mètres ; s'il est défini, il remplace la taille des tuiles en pixels</translation>
    </message>
    <message>
      <source>Ground size</source>
      <translation>Taille au sol</translation>
    </message>
    <message>
      <source>Overlap</source>
      <translation>Recouvrement</translation>
    </message>
    <message>
      <source>automatic, e.g. 3,2,1</source>
      <translation>automatique, p. ex. 3,2,1</translation>
    </message>
    <message>
      <source>Bands</source>
      <translation>Bandes</translation>
    </message>
    <message>
      <source>How the backend runs the image model on a CPU; each choice keeps its own cached embeddings. OpenVINO gives the same results as exact, several times faster (docs/PERFORMANCE.md)</source>
      <translation>Comment le backend exécute le modèle d'image sur un CPU ; chaque choix garde ses propres embeddings en cache. OpenVINO donne les mêmes résultats qu'exact, plusieurs fois plus vite (docs/PERFORMANCE.md)</translation>
    </message>
    <message>
      <source>Precision</source>
      <translation>Précision</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Annuler</translation>
    </message>
    <message>
      <source>Cancel the running job (an embedding stops; nothing half-made is kept)</source>
      <translation>Annuler la tâche en cours (un plongement s'arrête ; rien d'inachevé n'est gardé)</translation>
    </message>
    <message>
      <source>Zero-shot classes</source>
      <translation>Classes zero-shot</translation>
    </message>
    <message>
      <source>Presets…</source>
      <translation>Préréglages…</translation>
    </message>
    <message>
      <source>One class per line, e.g.
farmland
forest
river or lake</source>
      <translation>Une classe par ligne (en anglais), p. ex.
farmland
forest
river or lake</translation>
    </message>
    <message>
      <source>Transductive (all tiles together)</source>
      <translation>Transductif (toutes les tuiles ensemble)</translation>
    </message>
    <message>
      <source>Classify all tiles of the raster together (TransCLIP) rather than each tile alone; with fewer tiles than classes plain zero-shot is used</source>
      <translation>Classer toutes les tuiles du raster ensemble (TransCLIP) plutôt que chaque tuile seule ; avec moins de tuiles que de classes, le zero-shot simple est utilisé</translation>
    </message>
    <message>
      <source>Classify</source>
      <translation>Classifier</translation>
    </message>
    <message>
      <source>Count and find similar</source>
      <translation>Compter et trouver des tuiles similaires</translation>
    </message>
    <message>
      <source>Object to count, e.g. storage tank</source>
      <translation>Objet à compter, p. ex. storage tank</translation>
    </message>
    <message>
      <source>Count</source>
      <translation>Compter</translation>
    </message>
    <message>
      <source>Recent results</source>
      <translation>Résultats récents</translation>
    </message>
    <message>
      <source>Zoom to</source>
      <translation>Zoomer sur</translation>
    </message>
    <message>
      <source>What the toolbar's search box and the locator search: the active raster layer, or every raster of a catalogue (one layer of hits)</source>
      <translation>Ce que cherchent la zone de recherche de la barre d'outils et le localisateur : la couche raster active, ou chaque raster d'un catalogue (une couche de résultats)</translation>
    </message>
    <message>
      <source>Add the active layer to the catalogue…</source>
      <translation>Ajouter la couche active au catalogue…</translation>
    </message>
    <message>
      <source>Embed the active raster layer into the chosen catalogue (a new one when the search is in the active layer)</source>
      <translation>Plonger la couche raster active dans le catalogue choisi (un nouveau si la recherche porte sur la couche active)</translation>
    </message>
    <message>
      <source>Search in</source>
      <translation>Chercher dans</translation>
    </message>
    <message>
      <source>Connecting to the backend…</source>
      <translation>Connexion au backend…</translation>
    </message>
    <message>
      <source>search</source>
      <translation>recherche</translation>
    </message>
    <message>
      <source>classes</source>
      <translation>classes</translation>
    </message>
    <message>
      <source>counts</source>
      <translation>comptages</translation>
    </message>
    <message>
      <source>similar tiles</source>
      <translation>tuiles similaires</translation>
    </message>
    <message>
      <source>change</source>
      <translation>changement</translation>
    </message>
    <message>
      <source>more like these</source>
      <translation>plus comme celles-ci</translation>
    </message>
    <message>
      <source>catalogue search</source>
      <translation>recherche dans un catalogue</translation>
    </message>
    <message>
      <source>Query</source>
      <translation>Requête</translation>
    </message>
    <message>
      <source>Kind</source>
      <translation>Type</translation>
    </message>
    <message>
      <source>Layers</source>
      <translation>Couches</translation>
    </message>
    <message>
      <source>the active layer</source>
      <translation>la couche active</translation>
    </message>
    <message>
      <source>New catalogue…</source>
      <translation>Nouveau catalogue…</translation>
    </message>
    <message>
      <source>Best model present</source>
      <translation>Meilleur modèle présent</translation>
    </message>
    <message>
      <source>{0} cannot count: its counts are no better than a constant guess (see its model card)</source>
      <translation>{0} ne sait pas compter : ses comptages ne valent pas mieux qu'une estimation constante (voir sa fiche de modèle)</translation>
    </message>
    <message>
      <source>Estimate how many of the object each tile holds (1 to 10)</source>
      <translation>Estimer combien de cet objet contient chaque tuile (1 à 10)</translation>
    </message>
    <message>
      <source>Select a raster layer first</source>
      <translation>Sélectionnez d'abord une couche raster</translation>
    </message>
    <message>
      <source>Enter the classes to classify into, one per line</source>
      <translation>Saisissez les classes de la classification, une par ligne</translation>
    </message>
    <message>
      <source>Zero-shot classification needs at least two classes</source>
      <translation>La classification zero-shot nécessite au moins deux classes</translation>
    </message>
    <message>
      <source>Enter an object to count, e.g. storage tank</source>
      <translation>Saisissez un objet à compter, p. ex. storage tank</translation>
    </message>
    <message>
      <source>Select a result to zoom to</source>
      <translation>Sélectionnez un résultat sur lequel zoomer</translation>
    </message>
    <message>
      <source>Fraction of a tile shared with its neighbour (the plugin's default: {0})</source>
      <translation>Part d'une tuile partagée avec sa voisine (défaut de l'extension : {0})</translation>
    </message>
    <message>
      <source>{0:g} m = {1} px on this layer</source>
      <translation>{0:g} m = {1} px sur cette couche</translation>
    </message>
    <message>
      <source>{0} px = {1:g} m on this layer</source>
      <translation>{0} px = {1:g} m sur cette couche</translation>
    </message>
    <message>
      <source>model's default: {0:g} m = {1} px on this layer</source>
      <translation>défaut du modèle : {0:g} m = {1} px sur cette couche</translation>
    </message>
    <message>
      <source>model's default: {0:g} m on the ground (its input size without a CRS)</source>
      <translation>défaut du modèle : {0:g} m au sol (sa taille d'entrée sans SCR)</translation>
    </message>
    <message>
      <source>Backend stopped (it starts with the first job, or press Refresh)</source>
      <translation>Backend arrêté (il démarre avec la première tâche, ou avec « Actualiser »)</translation>
    </message>
    <message>
      <source>{0:g} m tiles (no layer with a CRS selected)</source>
      <translation>tuiles de {0:g} m (aucune couche avec SCR sélectionnée)</translation>
    </message>
    <message>
      <source>{0} px tiles</source>
      <translation>tuiles de {0} px</translation>
    </message>
    <message>
      <source>Remote backend at {0} (press Refresh to check)</source>
      <translation>Backend distant à {0} (« Actualiser » pour le vérifier)</translation>
    </message>
    <message>
      <source>{0}: weights downloaded</source>
      <translation>{0} : poids téléchargés</translation>
    </message>
    <message>
      <source>Backend running at {0} (version {1}); models with weights: {2}</source>
      <translation>Backend en cours d'exécution à {0} (version {1}) ; modèles avec poids : {2}</translation>
    </message>
    <message>
      <source>none</source>
      <translation>aucun</translation>
    </message>
    <message>
      <source>Backend stopped: {0}</source>
      <translation>Backend arrêté : {0}</translation>
    </message>
    <message>
      <source>The active layer "{0}" is not a raster layer: select a raster layer</source>
      <translation>La couche active « {0} » n'est pas une couche raster : sélectionnez une couche raster</translation>
    </message>
    <message>
      <source>The layers of "{0}" are no longer in the project</source>
      <translation>Les couches de « {0} » ne sont plus dans le projet</translation>
    </message>
    <message>
      <source>catalogue {0} ({1} rasters)</source>
      <translation>catalogue {0} ({1} rasters)</translation>
    </message>
    <message>
      <source>catalogue {0} (new)</source>
      <translation>catalogue {0} (nouveau)</translation>
    </message>
    <message>
      <source>Backend running at {0}</source>
      <translation>Backend en cours d'exécution à {0}</translation>
    </message>
    <message>
      <source>Download of {0} cancelled: nothing was kept</source>
      <translation>Téléchargement de {0} annulé : rien n'a été conservé</translation>
    </message>
    <message>
      <source>Download of {0} failed: {1}</source>
      <translation>Échec du téléchargement de {0} : {1}</translation>
    </message>
    <message>
      <source>RemoteCLIP: creating the backend environment</source>
      <translation>RemoteCLIP : création de l'environnement du backend</translation>
    </message>
    <message>
      <source>Backend environment not created: cancelled</source>
      <translation>Environnement du backend non créé : annulé</translation>
    </message>
    <message>
      <source>Cannot create the backend environment: {0}</source>
      <translation>Impossible de créer l'environnement du backend : {0}</translation>
    </message>
    <message>
      <source>{0} was not downloaded (cancelled): download it from the RemoteCLIP panel</source>
      <translation>{0} n'a pas été téléchargé (annulé) : téléchargez-le depuis le panneau RemoteCLIP</translation>
    </message>
    <message>
      <source>{0} was not downloaded ({1}): download it from the RemoteCLIP panel</source>
      <translation>{0} n'a pas été téléchargé ({1}) : téléchargez-le depuis le panneau RemoteCLIP</translation>
    </message>
    <message>
      <source>Backend environment ready: {0} (torch {1})</source>
      <translation>Environnement du backend prêt : {0} (torch {1})</translation>
    </message>
    <message>
      <source>The backend environment could not be created</source>
      <translation>L'environnement du backend n'a pas pu être créé</translation>
    </message>
    <message>
      <source>RemoteCLIP: embed raster</source>
      <translation>RemoteCLIP : intégrer le raster</translation>
    </message>
    <message>
      <source>embed</source>
      <translation>plonger</translation>
    </message>
    <message>
      <source>classify</source>
      <translation>classer</translation>
    </message>
    <message>
      <source>count</source>
      <translation>compter</translation>
    </message>
    <message>
      <source>tiles similar to</source>
      <translation>tuiles semblables à</translation>
    </message>
    <message>
      <source>{0} (before) and {1} (after)</source>
      <translation>{0} (avant) et {1} (après)</translation>
    </message>
    <message>
      <source>Embedding this raster with {0} will take {1}.

It runs in the background and can be cancelled from the task manager; later searches of this raster are instant. Start now?</source>
      <translation>L'intégration de ce raster avec {0} demandera {1}.

Elle tourne en arrière-plan et peut être annulée depuis le gestionnaire de tâches ; les recherches suivantes dans ce raster seront immédiates. Commencer maintenant ?</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0} '{1}' on {2}</source>
      <translation>RemoteCLIP : {0} '{1}' sur {2}</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0}</source>
      <translation>RemoteCLIP : {0}</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0} on {1}</source>
      <translation>RemoteCLIP : {0} sur {1}</translation>
    </message>
    <message>
      <source>RemoteCLIP: {0} {1}</source>
      <translation>RemoteCLIP : {0} {1}</translation>
    </message>
    <message>
      <source>Embedding {0}: {1}</source>
      <translation>Intégration {0} : {1}</translation>
    </message>
    <message>
      <source>{0} (embedding: {1})</source>
      <translation>{0} (plongement : {1})</translation>
    </message>
    <message>
      <source>Not embedded: {0}</source>
      <translation>Non intégré : {0}</translation>
    </message>
    <message>
      <source>RemoteCLIP marks</source>
      <translation>Marques RemoteCLIP</translation>
    </message>
    <message>
      <source>example</source>
      <translation>exemple</translation>
    </message>
    <message>
      <source>negative (counter-example)</source>
      <translation>negative (contre-exemple)</translation>
    </message>
    <message>
      <source>Type a label for the marks first (e.g. forest); a right click marks a counter-example</source>
      <translation>Saisir d'abord une étiquette pour les marques (p. ex. forêt) ; un clic droit marque un contre-exemple</translation>
    </message>
    <message>
      <source>{0} (choose a weights file)</source>
      <translation>{0} (choisir un fichier de poids)</translation>
    </message>
    <message>
      <source>the download failed</source>
      <translation>le téléchargement a échoué</translation>
    </message>
    <message>
      <source>Download</source>
      <translation>Télécharger</translation>
    </message>
    <message>
      <source>Choose file…</source>
      <translation>Choisir un fichier…</translation>
    </message>
    <message>
      <source>A checkpoint file of this model (.pt) on the machine the backend runs on</source>
      <translation>Un fichier de checkpoint de ce modèle (.pt) sur la machine où tourne le backend</translation>
    </message>
    <message>
      <source>Checkpoints (*.pt *.pth *.bin *.safetensors);;All files (*)</source>
      <translation>Checkpoints (*.pt *.pth *.bin *.safetensors);;Tous les fichiers (*)</translation>
    </message>
    <message>
      <source>{0} (weights present)</source>
      <translation>{0} (poids présents)</translation>
    </message>
    <message>
      <source>{0} (download, {1})</source>
      <translation>{0} (à télécharger, {1})</translation>
    </message>
    <message>
      <source>{0} (download)</source>
      <translation>{0} (à télécharger)</translation>
    </message>
    <message>
      <source>RemoteCLIP: download {0}</source>
      <translation>RemoteCLIP : télécharger {0}</translation>
    </message>
    <message>
      <source>Its weights are not on the backend's machine yet</source>
      <translation>Ses poids ne sont pas encore sur la machine du backend</translation>
    </message>
    <message>
      <source>Its weights are not on the backend's machine: choose its weights file</source>
      <translation>Ses poids ne sont pas sur la machine du backend : choisissez son fichier de poids</translation>
    </message>
    <message>
      <source>Weights file for {0}</source>
      <translation>Fichier de poids pour {0}</translation>
    </message>
    <message>
      <source>Weights file: {0}</source>
      <translation>Fichier de poids : {0}</translation>
    </message>
    <message>
      <source>Downloading {0}…</source>
      <translation>Téléchargement de {0}…</translation>
    </message>
    <message>
      <source>Download ({0})</source>
      <translation>Télécharger ({0})</translation>
    </message>
    <message>
      <source>Overlap must be a fraction from 0 to 0.9</source>
      <translation>Le recouvrement doit être une fraction de 0 à 0,9</translation>
    </message>
    <message>
      <source>Bands: give one band or three (numbers from 1), e.g. 3,2,1</source>
      <translation>Bandes : indiquez une bande ou trois (numéros à partir de 1), p. ex. 3,2,1</translation>
    </message>
    <message>
      <source>classes: {0}</source>
      <translation>classes : {0}</translation>
    </message>
    <message>
      <source>similar to the tile at {0}, {1}</source>
      <translation>semblable à la tuile en {0}, {1}</translation>
    </message>
    <message>
      <source>more like these: {0}</source>
      <translation>plus comme celles-ci : {0}</translation>
    </message>
    <message>
      <source>'{0}' in catalogue {1}</source>
      <translation>'{0}' dans le catalogue {1}</translation>
    </message>
    <message>
      <source>Bands must be band numbers, e.g. 3,2,1</source>
      <translation>Les bandes doivent être des numéros de bande, p. ex. 3,2,1</translation>
    </message>
    <message>
      <source>classes: {0} classes</source>
      <translation>classes : {0} classes</translation>
    </message>
    <message>
      <source>similar to tile {0}</source>
      <translation>semblable à la tuile {0}</translation>
    </message>
    <message>
      <source>change toward {0}</source>
      <translation>changement vers {0}</translation>
    </message>
    <message>
      <source>more like these: {0} labels</source>
      <translation>plus comme celles-ci : {0} étiquettes</translation>
    </message>
    <message>
      <source>Precision must be one of: {0}</source>
      <translation>La précision doit être l'une de : {0}</translation>
    </message>
    <message>
      <source>RemoteCLIP search</source>
      <translation>Recherche RemoteCLIP</translation>
    </message>
    <message>
      <source>RemoteCLIP: backend environment</source>
      <translation>RemoteCLIP : environnement du backend</translation>
    </message>
    <message>
      <source>&amp;RemoteCLIP</source>
      <translation>&amp;RemoteCLIP</translation>
    </message>
    <message>
      <source>RemoteCLIP runs its model in a Python environment of its own (QGIS's Python cannot carry PyTorch). Create it now?

{0}

This downloads the pinned packages once; it runs in the background and can be cancelled.</source>
      <translation>RemoteCLIP exécute son modèle dans un environnement Python à lui (le Python de QGIS ne peut pas porter PyTorch). Le créer maintenant ?

{0}

Les paquets épinglés sont téléchargés une fois ; cela tourne en arrière-plan et peut être annulé.</translation>
    </message>
    <message>
      <source>Search the raster, e.g. lake</source>
      <translation>Rechercher dans le raster, p. ex. lac</translation>
    </message>
    <message>
      <source>RemoteCLIP: type a phrase and press Enter to search the active raster layer (it is embedded once, the first time)</source>
      <translation>RemoteCLIP : saisissez une expression et appuyez sur Entrée pour chercher dans la couche raster active (elle est encodée une seule fois, la première fois)</translation>
    </message>
    <message>
      <source>Find similar tiles: click on the map</source>
      <translation>Trouver des tuiles similaires : cliquez sur la carte</translation>
    </message>
    <message>
      <source>RemoteCLIP settings…</source>
      <translation>Paramètres de RemoteCLIP…</translation>
    </message>
    <message>
      <source>Create the backend environment…</source>
      <translation>Créer l'environnement du backend…</translation>
    </message>
    <message>
      <source>RemoteCLIP panel</source>
      <translation>Panneau RemoteCLIP</translation>
    </message>
    <message>
      <source>Select a raster layer to search first</source>
      <translation>Sélectionnez d'abord une couche raster à explorer</translation>
    </message>
    <message>
      <source>The backend environment is being created: see the task manager</source>
      <translation>L'environnement du backend est en cours de création : voir le gestionnaire de tâches</translation>
    </message>
    <message>
      <source>RemoteCLIP needs its backend environment: create it from the RemoteCLIP menu, or choose a Python with its packages in the settings</source>
      <translation>RemoteCLIP a besoin de son environnement de backend : créez-le depuis le menu RemoteCLIP, ou choisissez dans les paramètres un Python avec ses paquets</translation>
    </message>
    <message>
      <source>Search catalogue {0} for "{1}"</source>
      <translation>Chercher "{1}" dans le catalogue {0}</translation>
    </message>
    <message>
      <source>Search the active raster for "{0}"</source>
      <translation>Chercher « {0} » dans le raster actif</translation>
    </message>
    <message>
      <source>No backend package found beside the plugin: reinstall the plugin ZIP</source>
      <translation>Aucun paquet backend à côté de l'extension : réinstallez le ZIP de l'extension</translation>
    </message>
    <message>
      <source>Creating the backend environment (progress in the task manager, log: {0})</source>
      <translation>Création de l'environnement du backend (progression dans le gestionnaire de tâches, journal : {0})</translation>
    </message>
    <message>
      <source>Backend environment ready: {0}</source>
      <translation>Environnement du backend prêt : {0}</translation>
    </message>
    <message>
      <source>{0}: already running (see its progress)</source>
      <translation>{0} : déjà en cours (voir sa progression)</translation>
    </message>
    <message>
      <source>{0}: waits for the embedding already running ({1})</source>
      <translation>{0} : attend le plongement déjà en cours ({1})</translation>
    </message>
    <message>
      <source>Catalogue {0} cannot be searched until {1} is embedded again</source>
      <translation>Le catalogue {0} ne peut être interrogé tant que {1} n'est pas plongé à nouveau</translation>
    </message>
    <message>
      <source>Raster layer</source>
      <translation>Couche raster</translation>
    </message>
    <message>
      <source>Embed raster</source>
      <translation>Encoder le raster</translation>
    </message>
    <message>
      <source>Cut the raster into tiles and compute their RemoteCLIP embeddings, so that searches, classifications and counts on it answer at once.</source>
      <translation>Découpe le raster en tuiles et calcule leurs plongements RemoteCLIP, pour que recherches, classifications et comptages y répondent immédiatement.</translation>
    </message>
    <message>
      <source>Text search</source>
      <translation>Recherche textuelle</translation>
    </message>
    <message>
      <source>Rank the raster's tiles by their similarity to a phrase (several phrases separated by ';' are averaged). Outputs the best tiles (rank, score) and a similarity surface.</source>
      <translation>Classe les tuiles du raster selon leur similarité avec une expression (plusieurs expressions séparées par « ; » sont moyennées). Produit les meilleures tuiles (rang, score) et une surface de similarité.</translation>
    </message>
    <message>
      <source>Zero-shot classification</source>
      <translation>Classification zero-shot</translation>
    </message>
    <message>
      <source>Give every tile the most likely of the listed classes (separated by commas) with the probability of each class.</source>
      <translation>Attribue à chaque tuile la plus probable des classes indiquées (séparées par des virgules), avec la probabilité de chaque classe.</translation>
    </message>
    <message>
      <source>Count objects</source>
      <translation>Compter des objets</translation>
    </message>
    <message>
      <source>Estimate how many of an object (e.g. 'storage tank') each tile holds, 1 to 10, with the expected count and a confidence.</source>
      <translation>Estime combien d'exemplaires d'un objet (p. ex. « storage tank ») contient chaque tuile, de 1 à 10, avec le nombre attendu et une confiance.</translation>
    </message>
    <message>
      <source>Similar tiles</source>
      <translation>Tuiles similaires</translation>
    </message>
    <message>
      <source>Find the tiles that look most like the tile under an example point.</source>
      <translation>Trouve les tuiles qui ressemblent le plus à la tuile située sous un point d'exemple.</translation>
    </message>
    <message>
      <source>Before (the earlier raster)</source>
      <translation>Avant (le raster antérieur)</translation>
    </message>
    <message>
      <source>Compare two rasters of the same place tile by tile (the later one is put on the grid of the earlier one): the most changed tiles (change = 1 - cosine of their embeddings) and the change of every tile. With a phrase, tiles rank by how much closer they came to it (gain).</source>
      <translation>Comparer deux rasters du même lieu tuile par tuile (l'ultérieur est mis sur la grille de l'antérieur) : les tuiles les plus changées (changement = 1 - cosinus de leurs embeddings) et le changement de chaque tuile. Avec une phrase, les tuiles sont classées selon combien elles s'en sont rapprochées (gain).</translation>
    </message>
    <message>
      <source>More like these (few-shot from marked tiles)</source>
      <translation>Plus comme celles-ci (few-shot à partir de tuiles marquées)</translation>
    </message>
    <message>
      <source>Learn from marked examples (points or polygons with a label) over the raster's tiles: with two or more labels every tile gets a class and the probability of each; with one label (and counter-examples labelled 'negative') the tiles most like the examples, ranked. The examples are sent as GeoJSON in their layer's CRS, so this works with a remote backend too.</source>
      <translation>Apprendre à partir d'exemples marqués (points ou polygones avec une étiquette) sur les tuiles du raster : avec deux étiquettes ou plus, chaque tuile reçoit une classe et la probabilité de chacune ; avec une étiquette (et des contre-exemples étiquetés 'negative'), les tuiles les plus proches des exemples, classées. Les exemples sont envoyés en GeoJSON dans le SCR de leur couche, cela fonctionne donc aussi avec un backend distant.</translation>
    </message>
    <message>
      <source>Model (empty: the best one whose weights are present)</source>
      <translation>Modèle (vide : le meilleur dont les poids sont présents)</translation>
    </message>
    <message>
      <source>Precision (empty: the plugin's setting; int8: the fast CPU path, cached apart from exact)</source>
      <translation>Précision (vide : le réglage de l'extension ; int8 : le chemin rapide CPU, mis en cache à part de exact)</translation>
    </message>
    <message>
      <source>The raster is embedded once per model and tiling (a background job with progress; cancelling stops it) and cached by the backend; later queries on it are fast. Tile size: pixels, or metres on the ground (converted with the raster's true scale, as the dock does); 0 for both uses the plugin's tiling (the dock's Tiling panel), else the model's default (its training ground size where the raster's pixel size is known, else its input size). Overlap: 0.25 unless set.</source>
      <translation>Le raster est plongé une fois par modèle et découpage (une tâche de fond avec progression ; l'annuler l'arrête) et mis en cache par le backend ; les requêtes suivantes sont rapides. Taille des tuiles : en pixels, ou en mètres au sol (convertis avec la vraie échelle du raster, comme le panneau) ; 0 pour les deux prend le découpage de l'extension (le panneau Découpage), sinon le défaut du modèle (sa taille au sol d'entraînement là où la taille des pixels du raster est connue, sinon sa taille d'entrée). Recouvrement : 0,25 sauf indication.</translation>
    </message>
    <message>
      <source>Mode (auto: classes with two or more labels, a ranking with one)</source>
      <translation>Mode (auto : des classes avec deux étiquettes ou plus, un classement avec une seule)</translation>
    </message>
    <message>
      <source>Tile size in pixels (0: use the ground size, else the plugin's tiling)</source>
      <translation>Taille des tuiles en pixels (0 : utiliser la taille au sol, sinon le découpage de l'extension)</translation>
    </message>
    <message>
      <source>Tile size on the ground in metres (0: use the pixel size)</source>
      <translation>Taille des tuiles au sol en mètres (0 : utiliser la taille en pixels)</translation>
    </message>
    <message>
      <source>Tile overlap (fraction, 0 to 0.9)</source>
      <translation>Recouvrement des tuiles (fraction, de 0 à 0,9)</translation>
    </message>
    <message>
      <source>Bands used as red, green, blue (1 or 3; empty: automatic)</source>
      <translation>Bandes utilisées comme rouge, vert, bleu (1 ou 3 ; vide : automatique)</translation>
    </message>
    <message>
      <source>Model weights file (empty: the registry's)</source>
      <translation>Fichier de poids du modèle (vide : celui du registre)</translation>
    </message>
    <message>
      <source>Area to render, for layers without a file (web, tile, virtual; empty: the layer's extent)</source>
      <translation>Zone à rendre, pour les couches sans fichier (web, tuiles, virtuelles ; vide : l'emprise de la couche)</translation>
    </message>
    <message>
      <source>Pixel size to render at, in the layer's units (0: the layer's own, or 4096 pixels across)</source>
      <translation>Taille de pixel du rendu, en unités de la couche (0 : celle de la couche, ou 4096 pixels de large)</translation>
    </message>
    <message>
      <source>No raster layer given</source>
      <translation>Aucune couche raster indiquée</translation>
    </message>
    <message>
      <source>Connecting to the RemoteCLIP backend</source>
      <translation>Connexion au backend RemoteCLIP</translation>
    </message>
    <message>
      <source>Number of tiles</source>
      <translation>Nombre de tuiles</translation>
    </message>
    <message>
      <source>Embedding store</source>
      <translation>Stockage des plongements</translation>
    </message>
    <message>
      <source>Search phrase</source>
      <translation>Expression recherchée</translation>
    </message>
    <message>
      <source>Number of hits</source>
      <translation>Nombre de résultats</translation>
    </message>
    <message>
      <source>Similarity</source>
      <translation>Similarité</translation>
    </message>
    <message>
      <source>Best score</source>
      <translation>Meilleur score</translation>
    </message>
    <message>
      <source>Type a phrase to search for</source>
      <translation>Saisissez une expression à rechercher</translation>
    </message>
    <message>
      <source>Classes (separated by commas)</source>
      <translation>Classes (séparées par des virgules)</translation>
    </message>
    <message>
      <source>Transductive: classify all tiles together (TransCLIP)</source>
      <translation>Transductif : classer toutes les tuiles ensemble (TransCLIP)</translation>
    </message>
    <message>
      <source>Classes</source>
      <translation>Classes</translation>
    </message>
    <message>
      <source>Class shares (JSON)</source>
      <translation>Parts des classes (JSON)</translation>
    </message>
    <message>
      <source>List at least two classes</source>
      <translation>Indiquez au moins deux classes</translation>
    </message>
    <message>
      <source>Object to count</source>
      <translation>Objet à compter</translation>
    </message>
    <message>
      <source>Counts</source>
      <translation>Comptages</translation>
    </message>
    <message>
      <source>Expected total</source>
      <translation>Total attendu</translation>
    </message>
    <message>
      <source>Name the object to count</source>
      <translation>Nommez l'objet à compter</translation>
    </message>
    <message>
      <source>Example point</source>
      <translation>Point d'exemple</translation>
    </message>
    <message>
      <source>Number of similar tiles</source>
      <translation>Nombre de tuiles similaires</translation>
    </message>
    <message>
      <source>Example tile</source>
      <translation>Tuile d'exemple</translation>
    </message>
    <message>
      <source>After (the later raster)</source>
      <translation>Après (le raster ultérieur)</translation>
    </message>
    <message>
      <source>Phrase: what appeared (optional; ';' separates phrases, averaged)</source>
      <translation>Phrase : ce qui est apparu (facultatif ; ';' sépare des phrases, moyennées)</translation>
    </message>
    <message>
      <source>Number of changed tiles</source>
      <translation>Nombre de tuiles changées</translation>
    </message>
    <message>
      <source>Most changed tiles</source>
      <translation>Tuiles les plus changées</translation>
    </message>
    <message>
      <source>Change of every tile</source>
      <translation>Changement de chaque tuile</translation>
    </message>
    <message>
      <source>Tiles compared</source>
      <translation>Tuiles comparées</translation>
    </message>
    <message>
      <source>Mean change</source>
      <translation>Changement moyen</translation>
    </message>
    <message>
      <source>No raster layer given for the later date</source>
      <translation>Aucune couche raster donnée pour la date ultérieure</translation>
    </message>
    <message>
      <source>Marked examples (points or polygons)</source>
      <translation>Exemples marqués (points ou polygones)</translation>
    </message>
    <message>
      <source>Label field (empty: label)</source>
      <translation>Champ d'étiquette (vide : label)</translation>
    </message>
    <message>
      <source>Number of hits (a ranking)</source>
      <translation>Nombre de résultats (un classement)</translation>
    </message>
    <message>
      <source>Use the labels' words as a hint (a label that is a phrase adds its text embedding)</source>
      <translation>Utiliser les mots des étiquettes comme indice (une étiquette qui est une phrase ajoute son embedding de texte)</translation>
    </message>
    <message>
      <source>Classes, or the hits of a ranking</source>
      <translation>Classes, ou les résultats d'un classement</translation>
    </message>
    <message>
      <source>Scores of every tile (a ranking)</source>
      <translation>Scores de chaque tuile (un classement)</translation>
    </message>
    <message>
      <source>Mode used</source>
      <translation>Mode utilisé</translation>
    </message>
    <message>
      <source>No layer of examples given</source>
      <translation>Aucune couche d'exemples donnée</translation>
    </message>
    <message>
      <source>Cancelled</source>
      <translation>Annulé</translation>
    </message>
    <message>
      <source>{0} tiles embedded</source>
      <translation>{0} tuiles encodées</translation>
    </message>
    <message>
      <source>{0} tiles compared, mean change {1:.4f}</source>
      <translation>{0} tuiles comparées, changement moyen {1:.4f}</translation>
    </message>
    <message>
      <source>Layer '{0}' has no file the backend can read: rendering it, {1} x {2} pixels</source>
      <translation>La couche '{0}' n'a pas de fichier lisible par le backend : rendu en cours, {1} x {2} pixels</translation>
    </message>
    <message>
      <source>The backend wrote no '{0}' layer in {1}</source>
      <translation>Le backend n'a écrit aucune couche « {0} » dans {1}</translation>
    </message>
    <message>
      <source>The examples have no field '{0}'</source>
      <translation>Les exemples n'ont pas de champ '{0}'</translation>
    </message>
    <message>
      <source>Sent to the backend as {0}</source>
      <translation>Envoyé au backend sous le nom {0}</translation>
    </message>
    <message>
      <source>Embedding: {0}</source>
      <translation>Intégration : {0}</translation>
    </message>
    <message>
      <source>Embedding (job {0})</source>
      <translation>Encodage (tâche {0})</translation>
    </message>
    <message>
      <source>The map canvas shows nothing to search yet</source>
      <translation>La carte n'affiche encore rien à rechercher</translation>
    </message>
    <message>
      <source>Rendering cancelled</source>
      <translation>Rendu annulé</translation>
    </message>
    <message>
      <source>Layer '{0}' has no data in the area to search: pan or zoom to it</source>
      <translation>La couche '{0}' n'a pas de données dans la zone à rechercher : déplacez-vous ou zoomez dessus</translation>
    </message>
    <message>
      <source>Rendering '{0}' at this resolution needs {1} x {2} pixels (over {3} million): zoom in, or choose a smaller extent or a larger pixel size</source>
      <translation>Le rendu de '{0}' à cette résolution demande {1} x {2} pixels (plus de {3} millions) : zoomez, ou choisissez une emprise plus petite ou des pixels plus grands</translation>
    </message>
    <message>
      <source>Cannot open layer '{0}' for rendering: {1}</source>
      <translation>Impossible d'ouvrir la couche '{0}' pour le rendu : {1}</translation>
    </message>
    <message>
      <source>Layer '{0}' cannot be rendered (provider {1})</source>
      <translation>La couche '{0}' ne peut pas être rendue (fournisseur {1})</translation>
    </message>
    <message>
      <source>Rendering '{0}' failed (QgsRasterFileWriter error {1})</source>
      <translation>Le rendu de '{0}' a échoué (erreur QgsRasterFileWriter {1})</translation>
    </message>
    <message>
      <source>Layer '{0}' has no extent of its own (a web or tile layer): choose the extent to search</source>
      <translation>La couche '{0}' n'a pas d'emprise propre (couche web ou de tuiles) : choisissez l'emprise à rechercher</translation>
    </message>
    <message>
      <source>Cannot convert {0} to a GeoTIFF to send it: {1}</source>
      <translation>Impossible de convertir {0} en GeoTIFF pour l'envoyer : {1}</translation>
    </message>
    <message>
      <source>heatmap</source>
      <translation>carte de chaleur</translation>
    </message>
    <message>
      <source>class map</source>
      <translation>carte des classes</translation>
    </message>
    <message>
      <source>hits</source>
      <translation>résultats</translation>
    </message>
    <message>
      <source>similarity</source>
      <translation>similarité</translation>
    </message>
    <message>
      <source>most changed</source>
      <translation>les plus changées</translation>
    </message>
    <message>
      <source>scores</source>
      <translation>scores</translation>
    </message>
    <message>
      <source>cosine {0} to {1}</source>
      <translation>cosinus {0} à {1}</translation>
    </message>
    <message>
      <source>top {0}–{1} % ({2})</source>
      <translation>meilleurs {0}–{1} % ({2})</translation>
    </message>
    <message>
      <source>change {0} to {1}</source>
      <translation>changement {0} à {1}</translation>
    </message>
    <message>
      <source>gain {0} to {1}</source>
      <translation>gain {0} à {1}</translation>
    </message>
    <message>
      <source>score {0} to {1}</source>
      <translation>score {0} à {1}</translation>
    </message>
    <message>
      <source>top {0} % ({1})</source>
      <translation>meilleurs {0} % ({1})</translation>
    </message>
    <message>
      <source>the rest, {0} % ({1})</source>
      <translation>le reste, {0} % ({1})</translation>
    </message>
    <message>
      <source>result</source>
      <translation>résultat</translation>
    </message>
    <message>
      <source>Results are saved in {0}: the project is not saved (or its folder cannot be written). Save the project to keep them beside it, or choose an output folder in the RemoteCLIP settings.</source>
      <translation>Les résultats sont enregistrés dans {0} : le projet n'est pas enregistré (ou son dossier n'est pas accessible en écriture). Enregistrez le projet pour les garder à côté, ou choisissez un dossier de sortie dans les paramètres RemoteCLIP.</translation>
    </message>
    <message>
      <source>Test connection: the backend's Python environment is missing (create it from the RemoteCLIP menu)</source>
      <translation>Tester la connexion : l'environnement Python du backend manque (créez-le depuis le menu RemoteCLIP)</translation>
    </message>
    <message>
      <source>RemoteCLIP settings</source>
      <translation>Paramètres de RemoteCLIP</translation>
    </message>
    <message>
      <source>RemoteCLIP runs its model in a backend process of its own. Local: the plugin starts it with the Python below (empty: the environment it creates on first use). Remote: it connects to a backend started elsewhere (python -m backend serve, e.g. on a GPU workstation through an SSH tunnel), with the URL and token from that backend's state file; files on this machine are uploaded to it. The model is chosen in the RemoteCLIP panel.</source>
      <translation>RemoteCLIP exécute son modèle dans un processus backend à part. Local : l'extension le lance avec le Python ci-dessous (vide : l'environnement qu'elle crée à la première utilisation). Distant : elle se connecte à un backend lancé ailleurs (python -m backend serve, par exemple sur une station GPU via un tunnel SSH), avec l'URL et le jeton du fichier d'état de ce backend ; les fichiers de cette machine lui sont envoyés. Le modèle se choisit dans le panneau RemoteCLIP.</translation>
    </message>
    <message>
      <source>Start a local backend</source>
      <translation>Démarrer un backend local</translation>
    </message>
    <message>
      <source>Connect to a running backend</source>
      <translation>Se connecter à un backend en cours d'exécution</translation>
    </message>
    <message>
      <source>The Python that runs the backend (it needs the backend's packages)</source>
      <translation>Le Python qui exécute le backend (il lui faut les paquets du backend)</translation>
    </message>
    <message>
      <source>Python interpreter</source>
      <translation>Interpréteur Python</translation>
    </message>
    <message>
      <source>the best Python 3.10+ found</source>
      <translation>le meilleur Python 3.10+ trouvé</translation>
    </message>
    <message>
      <source>Python to create the backend environment from</source>
      <translation>Python à partir duquel créer l'environnement du backend</translation>
    </message>
    <message>
      <source>auto: CUDA wheels with an NVIDIA GPU, CPU wheels without; pypi: PyPI's build; or the URL of a package index</source>
      <translation>auto : wheels CUDA avec un GPU NVIDIA, wheels CPU sans ; pypi : la version de PyPI ; ou l'URL d'un index de paquets</translation>
    </message>
    <message>
      <source>PyTorch build</source>
      <translation>Version de PyTorch</translation>
    </message>
    <message>
      <source>The remote backend's address (its state file's url)</source>
      <translation>L'adresse du backend distant (url de son fichier d'état)</translation>
    </message>
    <message>
      <source>Backend URL</source>
      <translation>URL du backend</translation>
    </message>
    <message>
      <source>The remote backend's bearer token (its state file's token)</source>
      <translation>Le jeton bearer du backend distant (token de son fichier d'état)</translation>
    </message>
    <message>
      <source>Token</source>
      <translation>Jeton</translation>
    </message>
    <message>
      <source>Test connection</source>
      <translation>Tester la connexion</translation>
    </message>
    <message>
      <source>Ask the backend configured here for its health and models (a local one is started for the test)</source>
      <translation>Demander au backend configuré ici son état et ses modèles (un backend local est lancé pour le test)</translation>
    </message>
    <message>
      <source>Jobs</source>
      <translation>Tâches</translation>
    </message>
    <message>
      <source>never ask</source>
      <translation>ne jamais demander</translation>
    </message>
    <message>
      <source>Ask before embeddings longer than</source>
      <translation>Demander avant les intégrations plus longues que</translation>
    </message>
    <message>
      <source>Test connection: connecting…</source>
      <translation>Tester la connexion : connexion…</translation>
    </message>
    <message>
      <source>Test connection: no backend URL set</source>
      <translation>Tester la connexion : aucune URL de backend</translation>
    </message>
    <message>
      <source>Test connection: ok (backend {0}, {1} models)</source>
      <translation>Tester la connexion : ok (backend {0}, {1} modèles)</translation>
    </message>
    <message>
      <source>Test connection: refused (wrong token)</source>
      <translation>Tester la connexion : refusée (mauvais jeton)</translation>
    </message>
    <message>
      <source>Test connection: refused ({0})</source>
      <translation>Tester la connexion : refusée ({0})</translation>
    </message>
    <message>
      <source>Test connection: failed ({0})</source>
      <translation>Tester la connexion : échec ({0})</translation>
    </message>
    <message>
      <source>the project's folder; unsaved: {0}</source>
      <translation>le dossier du projet ; non enregistré : {0}</translation>
    </message>
    <message>
      <source>Output folder (empty: the project's folder, or {0} while the project is unsaved)</source>
      <translation>Dossier de sortie (vide : le dossier du projet, ou {0} tant que le projet n'est pas enregistré)</translation>
    </message>
    <message>
      <source>Test connection: unreachable ({0})</source>
      <translation>Tester la connexion : injoignable ({0})</translation>
    </message>
    <message>
      <source>Fast (int8)</source>
      <translation type="vanished">Rapide (int8)</translation>
    </message>
    <message>
      <source>Embed with the backend's int8 fast path (about 1.6 times faster on a CPU, nearly the same results); its embeddings are cached apart from exact ones</source>
      <translation type="vanished">Calculer les plongements avec le chemin rapide int8 du backend (environ 1,6 fois plus rapide sur un CPU, résultats presque identiques) ; ses plongements sont mis en cache à part des exacts</translation>
    </message>
    <message>
      <source>Embeddings</source>
      <translation type="vanished">Plongements</translation>
    </message>
    <message>
      <source>Tile size (pixels)</source>
      <translation type="vanished">Taille des tuiles (pixels)</translation>
    </message>
    <message>
      <source>The model for the jobs started here</source>
      <translation type="vanished">Le modèle des tâches lancées ici</translation>
    </message>
    <message>
      <source>Default ({0})</source>
      <translation type="vanished">Par défaut ({0})</translation>
    </message>
    <message>
      <source>best model present</source>
      <translation type="vanished">meilleur modèle disponible</translation>
    </message>
    <message>
      <source>{0} (no weights)</source>
      <translation type="vanished">{0} (pas de poids)</translation>
    </message>
    <message>
      <source>Model (empty: the best one present)</source>
      <translation type="vanished">Modèle (vide : le meilleur disponible)</translation>
    </message>
    <message>
      <source>Weights file</source>
      <translation type="vanished">Fichier de poids</translation>
    </message>
    <message>
      <source>RemoteCLIP: embedding, {0}</source>
      <translation type="vanished">RemoteCLIP : intégration, {0}</translation>
    </message>
    <message>
      <source>Cancelled: {0}</source>
      <translation type="vanished">Annulé : {0}</translation>
    </message>
    <message>
      <source>The raster is embedded once per model and tiling (a background job with progress; cancelling stops it) and cached by the backend; later queries on it are fast. Tile size: pixels, or a distance in the layer's units; 0 for both uses the model's default (its training ground size where the raster's pixel size is known, else its input size).</source>
      <translation type="vanished">Le raster est encodé une fois par modèle et par tuilage (une tâche de fond avec progression ; l'annuler l'arrête) et mis en cache par le backend ; les requêtes suivantes sont rapides. Taille de tuile : pixels, ou une distance dans les unités de la couche ; 0 pour les deux utilise la valeur par défaut du modèle (la taille au sol de ses images d'entraînement lorsque la taille de pixel du raster est connue, sinon sa taille d'entrée).</translation>
    </message>
    <message>
      <source>Tile size in pixels (0: use the ground size, or the model's default)</source>
      <translation type="vanished">Taille de tuile en pixels (0 : utiliser la taille au sol ou la valeur par défaut du modèle)</translation>
    </message>
    <message>
      <source>Tile size on the ground (0: use the pixel size)</source>
      <translation type="vanished">Taille des tuiles au sol (0 : utiliser la taille en pixels)</translation>
    </message>
    <message>
      <source>Output folder (empty: the project's folder)</source>
      <translation type="vanished">Dossier de sortie (vide : le dossier du projet)</translation>
    </message>
    <message>
      <source>model's input size</source>
      <translation type="vanished">taille d'entrée du modèle</translation>
    </message>
    <message>
      <source>The raster is embedded once per model and tiling (a background job with progress; cancelling stops it) and cached by the backend; later queries on it are fast. Tile size: pixels, or a distance in the layer's units; 0 for both uses the model's input size.</source>
      <translation type="vanished">Le raster est encodé une fois par modèle et par découpage (une tâche de fond avec progression ; l'annulation l'arrête) et mis en cache par le backend ; les requêtes suivantes sont rapides. Taille des tuiles : en pixels, ou une distance dans les unités de la couche ; 0 pour les deux utilise la taille d'entrée du modèle.</translation>
    </message>
    <message>
      <source>Tile size in pixels (0: use the ground size, or the model's input size)</source>
      <translation type="vanished">Taille des tuiles en pixels (0 : utiliser la taille au sol, ou la taille d'entrée du modèle)</translation>
    </message>
    <message>
      <source>model input size</source>
      <translation type="vanished">taille d'entrée du modèle</translation>
    </message>
    <message>
      <source>Choose 1 or 3 bands, not {0}</source>
      <translation type="vanished">Choisissez 1 ou 3 bandes, pas {0}</translation>
    </message>
    <message>
      <source>Rendered and sent as {0}</source>
      <translation type="vanished">Rendu et envoyé sous le nom {0}</translation>
    </message>
    <message>
      <source>Layer '{0}' is not a raster file on disk ({1}); save it as a GeoTIFF first (web and tile layers are not supported yet)</source>
      <translation type="vanished">La couche « {0} » n'est pas un fichier raster sur disque ({1}) ; enregistrez-la d'abord en GeoTIFF (les couches web et tuilées ne sont pas encore prises en charge)</translation>
    </message>
    <message>
      <source>A checkpoint file of this model on this machine (.pt)</source>
      <translation type="vanished" />
    </message>
    <message>
      <source>Label field</source>
      <translation type="vanished">Champ d'étiquette</translation>
    </message>
  </context>
</TS>
