# The two commands of the README: `make serve` and `make test`. Both install first, so
# they work on a fresh machine; installing again when nothing changed does nothing.

VENV := .venv
PYTHON := $(VENV)/bin/python

.PHONY: install serve test

install: $(VENV)/.installed node_modules/.installed

# Re-run when the dependencies change; a venv left half-made by an interrupted run is
# finished rather than recreated.
$(VENV)/.installed: pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# Real Yjs clients for the sync tests and the Node reference server for benchmarks.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

serve: install
	$(VENV)/bin/travaux serve

test: install
	$(PYTHON) -m pytest
