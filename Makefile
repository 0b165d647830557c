# The two commands of the README: `make serve` and `make test`. Both install first, so
# they work on a fresh machine; installing again when nothing changed does nothing.

VENV := .venv
PYTHON := $(VENV)/bin/python
# apt-get needs root: through sudo when make is not run as root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install serve test system-packages

install: $(VENV)/.installed node_modules/.installed web/static/room.js system-packages

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

# The browser client (web/client/) bundled by esbuild into web/static/ (not committed).
web/static/room.js: node_modules/.installed $(wildcard web/client/*.js web/client/*.mjs web/client/*.css)
	npm run --silent build

# LibreOffice renders the exported Word files to PDF in the export tests; poppler reads
# the PDF (pdftotext, pdftoppm). Installed once (~20 s): skipped when both are present.
system-packages:
	@if command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then \
		:; \
	else \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			libreoffice-writer-nogui poppler-utils; \
	fi
	@# Debian's Chromium runs the browser tests (tests/browser/, Playwright without its own
	@# browser download). Installed once (~25 s): skipped when present.
	@if [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

serve: install
	$(VENV)/bin/travaux serve

test: install
	$(PYTHON) -m pytest
