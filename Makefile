# Every target builds its own .venv from scratch when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

EXPORT_VENV := .venv-export
EXPORT_STAMP := $(EXPORT_VENV)/.installed

.PHONY: demo test test-export bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[tracr,train,dev,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m rasp.faces.demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# The TransformerLens round trip (docs/export.md) in a venv of its own: torch and TransformerLens
# are too heavy for `make test`.
$(EXPORT_STAMP): pyproject.toml
	test -x $(EXPORT_VENV)/bin/python || $(PYTHON) -m venv $(EXPORT_VENV)
	$(EXPORT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(EXPORT_VENV)/bin/python -m pip install --quiet -e '.[tracr,dev,export]'
	touch $(EXPORT_STAMP)

test-export: $(EXPORT_STAMP)
	$(EXPORT_VENV)/bin/python -m pytest -q -rP tests/test_export.py

bench: $(STAMP)
	$(BIN)/python bench/bench_interpreter.py
	$(BIN)/python bench/bench_compiler.py
	$(BIN)/python bench/bench_shared.py
	$(BIN)/python bench/bench_sort.py
	$(BIN)/python bench/verify_share.py
	$(BIN)/python bench/fuzz_compiler.py
	$(BIN)/python bench/bench_training.py
	$(BIN)/python bench/bench_ray.py
	$(BIN)/python bench/validate_predictor.py

clean:
	rm -rf $(VENV) $(EXPORT_VENV) build *.egg-info
