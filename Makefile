# qsigner: `make demo` runs the main job on the embedded regtest seed; `make test` runs the suite.
# Both create .venv on first use and install what they need; nothing else is required
# on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "qsigner needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# docker-compose v1's parser, for the compose test only: apart, since it pins old PyYAML
	$(BIN)/python -m pip install --quiet --no-deps --target $(VENV)/compose-v1 \
	  docker-compose==1.29.2 docker==7.1.0 'python-dotenv<1' texttable docopt distro dockerpty
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qsigner demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Opt-in long fuzz: a million hostile PSBT mutants per strategy (hours; not part of CI).
fuzz: $(STAMP)
	QSIGNER_FUZZ_EXAMPLES=$${QSIGNER_FUZZ_EXAMPLES:-1000000} $(BIN)/python -m pytest -q tests/bitcoin/test_hostile.py

# Speed against the floor and the peers (issue #9; docs/performance.md), ~5 minutes;
# `make bench BENCH_ARGS=--quick` for ~1 minute. Not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -c 'import bdkpython' 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet 'bdkpython==3.1.1'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
