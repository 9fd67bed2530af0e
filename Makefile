# qsigner: `make demo` runs the main job on the embedded regtest seed; `make test` runs the suite.
# Both create .venv on first use and install what they need; nothing else is required
# on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "qsigner needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qsigner demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Opt-in long fuzz: a million hostile PSBT mutants per strategy (hours; not part of CI).
fuzz: $(STAMP)
	QSIGNER_FUZZ_EXAMPLES=$${QSIGNER_FUZZ_EXAMPLES:-1000000} $(BIN)/python -m pytest -q tests/bitcoin/test_hostile.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
