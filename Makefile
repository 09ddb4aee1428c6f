# The two commands of the README:  make demo  (run the dashboard on the 調布市 drill)  and  make test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Loopback by default: the README says how to serve the HQ network behind HTTPS.
ADDRESS ?= 127.0.0.1

.PHONY: demo test setup vendor lint bench

$(BIN)/.installed: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

setup: $(BIN)/.installed vendor

vendor: $(BIN)/.installed
	$(BIN)/python scripts/vendor_assets.py

demo: setup
	$(BIN)/python -m ingest reference --municipality 13208
	$(BIN)/python -m ingest demo --seed 0
	$(BIN)/python scripts/demo_account.py
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m benchmarks
