# The README's commands. `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo-archive
EXTRAS ?= dev,pdf,postgres,s3,ocr
DEMO_EXTRAS ?= pdf,ocr

.PHONY: install install-demo demo test lint bench clean

# What the demo needs: the folder archive, LibreOffice and the Amiri font, tesseract.
$(VENV)/.demo: pyproject.toml
	sh scripts/system-deps.sh demo
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(DEMO_EXTRAS)]"
	touch $@

# Everything the tests need: the demo's, poppler, PostgreSQL, dovecot, and every extra.
$(VENV)/.installed: pyproject.toml
	sh scripts/system-deps.sh test
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $@ $(VENV)/.demo

install-demo: $(VENV)/.demo

install: $(VENV)/.installed

demo: install-demo
	rm -rf $(DEMO)
	$(BIN)/docarchive init $(DEMO)
	$(BIN)/docarchive --root $(DEMO) issue circular examples/data/circular.json
	$(BIN)/docarchive --root $(DEMO) ingest scan examples/data/scans
	$(BIN)/docarchive --root $(DEMO) ingest mail examples/data/mail
	$(BIN)/docarchive --root $(DEMO) search "الأرشفة"
	$(BIN)/docarchive --root $(DEMO) search "الوزاره"
	$(BIN)/docarchive --root $(DEMO) search expenditure
	$(BIN)/docarchive --root $(DEMO) search "سعاد"
	$(BIN)/docarchive --root $(DEMO) verify

test: install lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check docarchive tests examples bench tools
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_numbering.py
	$(BIN)/python bench/bench_stamp.py
	$(BIN)/python bench/bench_issue.py
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_storage.py
	$(BIN)/python bench/bench_mail.py
	$(BIN)/python bench/bench_scans.py 10
	$(BIN)/python bench/bench_followup.py

clean:
	rm -rf $(VENV) $(DEMO) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
