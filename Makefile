# remoteclip-qgis: set-up, tests, demo. `make test` and `make demo` work on a fresh Debian 12 machine.
SHELL := /bin/bash
SYSTEM_PYTHON ?= /usr/bin/python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Tests never touch the network: weights come from files or a locally laid-out hub cache.
TEST_ENV := QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1
DEMO_ARGS ?=
PYTEST_ARGS ?=

TS := $(wildcard i18n/remoteclip_qgis_*.ts)
QM := $(TS:.ts=.qm)

.PHONY: setup qgis-system test demo lint clean help translations package package-offline qgis screenshot qt6-migrate

help:
	@echo "make setup  - Debian's QGIS (if missing) and the venv with pinned requirements (idempotent)"
	@echo "make test   - set up, then run the test suite"
	@echo "make demo   - set up, then search / classify / count on the shipped NAIP sample"
	@echo "make lint   - ruff"
	@echo "make bench  - performance figures into tests/perf/results.json and docs/PERFORMANCE.md (~10 min)"
	@echo "make package - remoteclip_qgis.zip for plugins.qgis.org (no model weights: fetched on first use)"
	@echo "make package-offline - remoteclip_qgis-offline.zip, self-contained (the small model inside)"
	@echo "make qgis   - desktop QGIS with the plugin enabled (separate profile) and the sample raster"

setup: qgis-system $(STAMP)

# QGIS and PyQGIS come from Debian: QGIS's Python cannot carry torch, and pip cannot carry QGIS.
qgis-system:
	@if ! $(SYSTEM_PYTHON) -c "import qgis.core" >/dev/null 2>&1 || ! command -v qgis_process >/dev/null \
			|| ! command -v lrelease >/dev/null || ! command -v zip >/dev/null; then \
		echo "installing Debian's QGIS (qgis, python3-qgis, xvfb) and Qt's lrelease"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
			qgis python3-qgis xvfb qttools5-dev-tools zip; \
	fi

# --system-site-packages: PyQGIS (Debian's) and the backend's packages meet in one interpreter for tests.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Compiled translations (.qm) are build products; the .ts sources are committed.
translations: qgis-system $(QM)

i18n/%.qm: i18n/%.ts
	lrelease -silent $< -qm $@

test: setup translations
	$(TEST_ENV) $(PY) -m pytest tests -q $(PYTEST_ARGS)

demo: setup
	$(PY) -m backend demo $(DEMO_ARGS)

lint: setup
	$(PY) -m ruff check backend remoteclip_qgis train tests i18n
	$(PY) i18n/update_ts.py --check

# Two plugin ZIPs, each one top folder holding the plugin, its metadata, icons, compiled translations (.qm: Qt's
# translation data, standard in QGIS plugins; no executable code) and the bundled backend's source (the backend runs
# in its own environment, never inside QGIS's Python); no caches.
# - package: for plugins.qgis.org, which takes no binaries: no model checkpoint (8.2 MB, a research/non-commercial
#   licence). The default model is fetched on first use into the backend's data folder, from the release URL in
#   backend/models/models.json (its SHA-256 checked), or chosen as a local file in the RemoteCLIP panel.
# - package-offline: the same plus resources/models/remoteclip-qgis-small.pt, self-contained ("Install from ZIP").
DIST ?= .
PACKAGE_BUILD ?= build
ICONS := resources/icon.svg resources/icon_similar.svg resources/icon_settings.svg resources/icon_panel.svg \
	resources/class_colours.json
define stage_plugin
	rm -rf $(1) && mkdir -p $(1)/remoteclip_qgis/resources/models $(1)/remoteclip_qgis/i18n
	cp remoteclip_qgis/*.py $(1)/remoteclip_qgis/
	cp metadata.txt LICENSE $(1)/remoteclip_qgis/
	cp $(ICONS) $(1)/remoteclip_qgis/resources/
	cp resources/models/MODEL_CARD.md resources/models/remoteclip-qgis-small.card.json $(1)/remoteclip_qgis/resources/models/
	cp $(QM) $(1)/remoteclip_qgis/i18n/
	cp -r backend requirements.txt $(1)/remoteclip_qgis/
	find $(1) -name __pycache__ -prune -exec rm -rf {} +
endef

package: translations
	$(call stage_plugin,$(PACKAGE_BUILD)/package)
	rm -f $(DIST)/remoteclip_qgis.zip
	cd $(PACKAGE_BUILD)/package && zip -qr $(abspath $(DIST))/remoteclip_qgis.zip remoteclip_qgis
	@echo "built $(DIST)/remoteclip_qgis.zip (no model weights: fetched on first use)"

package-offline: translations
	$(call stage_plugin,$(PACKAGE_BUILD)/package-offline)
	cp resources/models/remoteclip-qgis-small.pt $(PACKAGE_BUILD)/package-offline/remoteclip_qgis/resources/models/
	rm -f $(DIST)/remoteclip_qgis-offline.zip
	cd $(PACKAGE_BUILD)/package-offline && zip -qr $(abspath $(DIST))/remoteclip_qgis-offline.zip remoteclip_qgis
	@echo "built $(DIST)/remoteclip_qgis-offline.zip (self-contained: the small model inside)"

# QGIS 4 / Qt 6: QGIS's migration script (scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py of the QGIS repository, GPL-2.0+,
# not copied here; at QGIS commit 912ae75fb0e09594c9e9f8051efc40d0615ec6a4) in a venv with PyQt6, PyQt6-QScintilla and
# tokenize-rt, with a one-line guard for its assertion on an import after a dedent, then scripts/qt6_enums.py for the
# QGIS enums that script cannot see without QGIS's Qt 6 build. Both rewrite remoteclip_qgis/ in place; run again after
# a merge. tests/plugin/test_qt6_ready.py fails while anything is left.
QT6_CHECKER ?= build/qt6/pyqt5_to_pyqt6.py
QT6_PYTHON ?= build/qt6/venv/bin/python
qt6-migrate: setup
	@test -f $(QT6_CHECKER) || { echo "put QGIS's pyqt5_to_pyqt6.py at $(QT6_CHECKER) (https://raw.githubusercontent.com/qgis/QGIS/912ae75fb0e09594c9e9f8051efc40d0615ec6a4/scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py)"; exit 2; }
	@test -x $(QT6_PYTHON) || { python3 -m venv $(dir $(QT6_PYTHON)).. && $(QT6_PYTHON) -m pip install -q PyQt6 PyQt6-QScintilla tokenize-rt; }
	sed "s/        if token.offset in import_offsets:/        if token.offset in import_offsets and token.src == 'from':/" \
		$(QT6_CHECKER) > build/qt6/pyqt5_to_pyqt6_guarded.py
	QT_QPA_PLATFORM=offscreen $(QT6_PYTHON) build/qt6/pyqt5_to_pyqt6_guarded.py remoteclip_qgis
	QT_QPA_PLATFORM=offscreen $(PY) scripts/qt6_enums.py remoteclip_qgis
	$(PY) -m ruff check remoteclip_qgis

clean:
	rm -rf demo_output .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

# Desktop QGIS in a profile of its own under build/, the plugin linked in and enabled, the sample loaded.
QGIS_PROFILES := $(CURDIR)/build/qgis-profiles
qgis: setup translations
	mkdir -p $(QGIS_PROFILES)/profiles/default/python/plugins $(QGIS_PROFILES)/profiles/default/QGIS
	ln -sfn $(CURDIR)/remoteclip_qgis $(QGIS_PROFILES)/profiles/default/python/plugins/remoteclip_qgis
	printf '[PythonPlugins]\nremoteclip_qgis=true\n' > $(QGIS_PROFILES)/profiles/default/QGIS/QGIS3.ini
	qgis --profiles-path $(QGIS_PROFILES) --nologo $(CURDIR)/resources/sample/naip_m_4709963_se_14_1_20190904.tif

# Desktop end-to-end check: real QGIS under Xvfb, the packaged plugin in a fresh profile under build/desktop,
# a "lake" search through the plugin's toolbar; writes build/screenshot.png and build/screenshot.json.
# The offline ZIP: nothing can be downloaded here.
screenshot: setup package-offline
	$(PY) scripts/desktop_screenshot.py

# Performance figures (issue 5): embedding pipeline, CPU fast path, peak memory, queries at scale.
# Writes tests/perf/results.json and the table in docs/PERFORMANCE.md; about 10 minutes on 2 cores.
BENCH_ARGS ?=
.PHONY: bench
bench: setup
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-bench.txt
	$(TEST_ENV) $(PY) tests/perf/bench.py $(BENCH_ARGS)
	$(TEST_ENV) $(PY) tests/perf/bench_fewshot.py
