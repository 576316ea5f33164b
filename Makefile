# The two commands a new user needs: `make demo` and `make test`.
# Everything else here is what those two rely on.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := chromium spamassassin postfix

.PHONY: demo test test-hosts lint typecheck unit integration bench system-packages web-assets clean

# Front-end packages the web app serves itself, never from a CDN (offices sit behind
# firewalls): the API explorer, Bootstrap Italia and its Titillium Web font (the Italian
# public administration's design kit), the edition editor (EasyMDE); axe-core is read by the
# browser tests straight from node_modules. Versions are pinned in package-lock.json and
# copied where the app's static files are (the wheel's package data picks them up).
# --ignore-scripts: swagger-ui-dist's only dependency is an analytics install script.
STATIC_VENDOR := templates/web/static/vendor
VENDOR := $(STATIC_VENDOR)/swagger_ui
VENDOR_FILES := swagger-ui-bundle.js swagger-ui.css LICENSE
# The last file copied stands for them all (a dotfile stamp would not reach the wheel).
VENDOR_STAMP := $(STATIC_VENDOR)/easymde/easymde.min.js

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

$(VENDOR_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(STATIC_VENDOR) && mkdir -p $(VENDOR) $(STATIC_VENDOR)/bootstrap_italia \
	  $(STATIC_VENDOR)/titillium_web $(STATIC_VENDOR)/easymde
	cd node_modules/swagger-ui-dist && cp $(VENDOR_FILES) $(CURDIR)/$(VENDOR)/
	cp node_modules/bootstrap-italia/dist/css/bootstrap-italia.min.css \
	  node_modules/bootstrap-italia/dist/js/bootstrap-italia.bundle.min.js \
	  node_modules/bootstrap-italia/LICENSE $(STATIC_VENDOR)/bootstrap_italia/
	cp node_modules/bootstrap-italia/dist/svg/sprites.svg $(STATIC_VENDOR)/bootstrap_italia/
	cp node_modules/bootstrap-italia/dist/fonts/Titillium_Web/*.woff2 \
	  node_modules/bootstrap-italia/dist/fonts/Titillium_Web/OFL.txt $(STATIC_VENDOR)/titillium_web/
	cp node_modules/easymde/dist/easymde.min.js node_modules/easymde/dist/easymde.min.css \
	  node_modules/easymde/LICENSE $(STATIC_VENDOR)/easymde/
	touch $@

web-assets: $(VENDOR_STAMP)

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
	$(BIN)/python -m pytest --ignore=tests/hosts

# Several worker hosts in network namespaces (root, iproute2): one lost, one cut off, mid-send.
# About three minutes (a 30 s cut, two sends of 20,000), so apart from `make test`; .ci/run runs both.
test-hosts: $(STAMP)
	$(BIN)/python -m pytest tests/hosts

bench: $(STAMP) system-packages
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) var outbox preview node_modules $(STATIC_VENDOR)
