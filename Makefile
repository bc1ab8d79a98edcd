# changetrail — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test env lock clean

# The environment is created from the committed lock file (hashes checked by pip).
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -c "import weasyprint" 2>/dev/null || sh scripts/install-system-libs.sh
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/changetrail demo --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Regenerate the lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --universal --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) out
