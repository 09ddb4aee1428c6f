# The two commands of the README:  make demo  (run the dashboard on the 調布市 drill)  and  make test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Loopback by default: the README says how to serve the HQ network behind HTTPS.
ADDRESS ?= 127.0.0.1

.PHONY: demo test setup vendor lint bench

# The demo installs what runs (requirements.txt); the tests add their tools (requirements-test.txt).
$(BIN)/.installed: requirements.txt
	@echo "== installing the dashboard's Python packages into $(VENV) (first run: a few minutes)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -r requirements.txt
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed requirements-test.txt
	@echo "== installing the test tools (pytest, Playwright, ruff …)"
	$(BIN)/pip install --progress-bar on -r requirements-test.txt
	touch $@

setup: $(BIN)/.installed vendor

vendor: $(BIN)/.installed
	@echo "== copying the map's JavaScript and CSS into static/vendor (npm, once)"
	$(BIN)/python scripts/vendor_assets.py

demo: setup
	$(BIN)/python -m ingest reference --municipality 13208
	$(BIN)/python -m ingest demo --seed 0
	$(BIN)/python scripts/demo_account.py
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

test: setup $(BIN)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed-test
	$(BIN)/ruff check .

bench: setup $(BIN)/.installed-test
	$(BIN)/python -m benchmarks
