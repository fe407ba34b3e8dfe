# The two commands the README starts with: `make run` and `make test`.
# Both install what they need: Debian packages (through apt-get when root or via
# sudo, otherwise the exact command to run) and Python packages into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# espeak-ng, sox: test audio; libportaudio2: the microphone; pulseaudio: virtual devices for tests;
# chromium: the kiosk page's browser test.
APT_PACKAGES := espeak-ng libportaudio2 sox pulseaudio pulseaudio-utils libasound2-plugins chromium

.PHONY: run test setup system-packages lint bench check clean

run: setup
	$(BIN)/voicefaq listen

test: setup
	$(BIN)/ruff check voice tests
	$(BIN)/ruff format --check voice tests
	$(BIN)/mypy
	$(BIN)/voicefaq check
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m tests.bench.bench_matcher
	$(BIN)/python -m tests.bench.bench_asr

check: setup
	$(BIN)/voicefaq check

setup: system-packages $(STAMP)

system-packages:
	@missing=""; \
	for package in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "voicefaq needs these system packages:$$missing (install them with your package manager)"; exit 1; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
	else \
	  echo "voicefaq needs these system packages:$$missing"; \
	  echo "Run:  sudo apt-get update && sudo apt-get install -y$$missing"; \
	  echo "then run make again."; exit 1; \
	fi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "voicefaq needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
