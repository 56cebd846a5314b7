# Every target installs what it needs: a fresh clone needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: install lint test demo bench fuzz clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing hookkit and its test dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	@rm -f $(VENV)/.installed-* && touch $@

# ruff and mypy --strict over the package; make test runs it first, so CI does too.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy hookkit

test: lint
	$(BIN)/python -m pytest -q

# The property tests alone, 10,000 examples each (make test runs 200); see tests/conftest.py.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m property -q

demo: $(STAMP)
	$(BIN)/python example_hooks/demo.py

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis reports
