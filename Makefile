# The two commands the README starts with: `make run` and `make test`.
# Both install what they need: Debian packages (through apt-get when root or via
# sudo, otherwise the exact command to run) and Python packages into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# espeak-ng: speech out; libportaudio2: microphone and speaker.
RUN_PACKAGES := espeak-ng libportaudio2
# sox: test audio; pulseaudio: the virtual microphone and speaker the tests use.
TEST_PACKAGES := $(RUN_PACKAGES) sox pulseaudio pulseaudio-utils libasound2-plugins
# chromium: the kiosk page's browser test. Debian packages it; Ubuntu ships it only as a
# snap, which containers lack, so there it is skipped (and so is that one test).
BROWSER_PACKAGE := chromium

.PHONY: run test eval setup system-packages browser-package lint bench check clean

run: PACKAGES = $(RUN_PACKAGES)
run: system-packages $(VENV)/.installed-run
	$(BIN)/voicefaq listen

# Test files run in parallel, one file to a worker (its module fixtures load once), at most
# four workers: each may load a speech engine of a few hundred MB.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')

test: PACKAGES = $(TEST_PACKAGES)
test: system-packages browser-package lint
	$(BIN)/voicefaq check
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check voice tests tools
	$(BIN)/ruff format --check voice tests tools
	$(BIN)/mypy

# The full accuracy report, to run before changing matching or recognition: typed dev and
# holdout sets, and the spoken dev set through whisper per noise condition (minutes).
eval: PACKAGES = $(TEST_PACKAGES)
eval: system-packages $(VENV)/.installed-dev
	$(BIN)/python -m tools.evaluate

bench: PACKAGES = $(TEST_PACKAGES)
bench: system-packages $(VENV)/.installed-dev
	$(BIN)/python -m tests.bench.bench_matcher
	$(BIN)/python -m tests.bench.bench_asr
	$(BIN)/python -m tests.bench.bench_listen
	$(BIN)/python -m tests.bench.bench_service
	$(BIN)/python -m tests.bench.bench_enrol

check: $(VENV)/.installed-run
	$(BIN)/voicefaq check

setup: PACKAGES = $(TEST_PACKAGES)
setup: system-packages browser-package $(VENV)/.installed-dev

# apt-get as root, or through password-less sudo; otherwise the exact command to run.
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

system-packages:
	@missing=""; \
	for package in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "voicefaq needs these system packages:$$missing (install them with your package manager)"; exit 1; \
	elif [ "$$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then \
	  tools/apt-install $(SUDO)$$missing; \
	else \
	  echo "voicefaq needs these system packages:$$missing"; \
	  echo "Run:  sudo apt-get update && sudo apt-get install -y$$missing"; \
	  echo "then run make again."; exit 1; \
	fi

browser-package:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if ! apt-cache show $(BROWSER_PACKAGE) >/dev/null 2>&1; then \
	  echo "note: no Debian chromium package here; the kiosk page's browser test will be skipped"; \
	elif [ "$$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then \
	  tools/apt-install $(SUDO) $(BROWSER_PACKAGE); \
	else \
	  echo "note: the kiosk page's browser test needs Chromium: sudo apt-get install -y $(BROWSER_PACKAGE)"; \
	fi

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "voicefaq needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed-run: pyproject.toml $(VENV)/.created
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.created
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
