# Every target builds its own .venv from scratch when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[tracr,train,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m rasp.faces.demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python bench/bench_interpreter.py
	$(BIN)/python bench/bench_compiler.py
	$(BIN)/python bench/bench_shared.py
	$(BIN)/python bench/bench_sort.py
	$(BIN)/python bench/fuzz_compiler.py
	$(BIN)/python bench/bench_training.py
	$(BIN)/python bench/validate_predictor.py

clean:
	rm -rf $(VENV) build *.egg-info
