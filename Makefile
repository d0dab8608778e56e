# Two commands matter: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench lint typecheck system-packages clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt pyproject.toml | $(PY)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .
	touch $@

# signalrcore pins an older msgpack exactly but works with ours: installed without its pins.
$(VENV)/.dev: requirements-dev.txt requirements-nodeps.txt $(VENV)/.runtime
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps -r requirements-nodeps.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# redis-server and chromium come from Debian's packages when the machine lacks them.
system-packages:
	@command -v redis-server >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q redis-server; }
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

run: $(VENV)/.runtime node_modules/.installed
	$(PY) app.py

test: $(VENV)/.dev $(VENV)/.bench node_modules/.installed system-packages
	$(PY) -m pytest

# The benchmark (bench/README.md): its peers, plot and profiler go into the same venv. --no-deps:
# requirements-bench.txt pins everything it needs (see the comment at its top).
$(VENV)/.bench: requirements-bench.txt $(VENV)/.runtime
	$(PIP) install -q --no-deps -r requirements-bench.txt
	touch $@

bench: $(VENV)/.bench
	@command -v redis-server >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q redis-server; }
	$(PY) -m bench

typecheck: $(VENV)/.dev
	$(PY) -m mypy

lint: $(VENV)/.dev
	$(PY) -m ruff check src tests app.py hubs services bench

clean:
	rm -rf $(VENV) node_modules
