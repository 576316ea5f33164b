# The two commands a new user needs: `make demo` and `make test`.
# Everything else here is what those two rely on.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := chromium spamassassin postfix

.PHONY: demo test lint typecheck unit integration bench system-packages web-assets clean

# JavaScript the web app serves itself (the API explorer), from the pinned npm lock file,
# copied where the app's static files are (and the wheel's package data picks them up).
# --ignore-scripts: swagger-ui-dist's only dependency is an analytics install script.
VENDOR := templates/web/static/vendor/swagger_ui
VENDOR_FILES := swagger-ui-bundle.js swagger-ui.css LICENSE

# The virtualenv, from the committed lock file (every version pinned).
$(STAMP): pyproject.toml setup.py requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

# Debian packages the tests need: chromium (browser tests), spamassassin (preflight),
# postfix (smtp-sink and smtp-source for the benchmarks), prometheus (promtool checks the
# alerting rules in deploy/; where systemd is not PID 1 the service it ships stays off).
# Skipped when present.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v spamassassin >/dev/null || missing="$$missing spamassassin"; \
	[ -x /usr/sbin/smtp-sink ] || missing="$$missing postfix"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v rabbitmqctl >/dev/null || missing="$$missing rabbitmq-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(VENDOR)/swagger-ui-bundle.js: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cd node_modules/swagger-ui-dist && cp $(VENDOR_FILES) $(CURDIR)/$(VENDOR)/

web-assets: $(VENDOR)/swagger-ui-bundle.js

# The main job on embedded defaults: SQLite, an embedded broker, an outbox folder.
demo: $(STAMP) web-assets
	bash examples/demo.sh

# Style, and the architecture's written form (.importlinter): what may import what.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) system-packages web-assets lint typecheck
	$(BIN)/python -m pytest

bench: $(STAMP) system-packages
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) var outbox preview node_modules $(VENDOR)
