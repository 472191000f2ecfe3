# The README's commands. `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo-archive
EXTRAS ?= dev,pdf,postgres,s3,ocr,server,arabic
DEMO_EXTRAS ?= pdf,ocr

.PHONY: install install-demo install-serve demo serve test lint bench fuzz clean

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

# The web pages and the API on the demo archive: what the demo has, and the server extra.
$(VENV)/.serve: $(VENV)/.demo
	$(BIN)/pip install --quiet -e ".[$(DEMO_EXTRAS),server]"
	touch $@

install-serve: $(VENV)/.serve

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

# Serve the demo archive at http://127.0.0.1:8000 (log in as demo / $(DEMO_PASSWORD)).
DEMO_PASSWORD ?= demo-archive-2026
serve: install-serve
	[ -f $(DEMO)/docarchive.toml ] || $(MAKE) demo
	$(BIN)/docarchive --root $(DEMO) users list | grep -q '^demo ' || \
	    printf '%s\n' '$(DEMO_PASSWORD)' | $(BIN)/docarchive --root $(DEMO) users add demo \
	    --clearance top-secret --role admin --password-stdin
	@echo "log in at http://127.0.0.1:8000 as demo / $(DEMO_PASSWORD)"
	$(BIN)/docarchive --root $(DEMO) serve --port 8000

test: install lint
	$(BIN)/python -m pytest -q

# A longer fuzz pass than the tests' (not part of make test): FUZZ_COUNT mutated files per
# ingest path, a new seed each run (printed; FUZZ_SEED=N repeats one), FUZZ_OCR=1 for OCR;
# and every file of the public corpus (FUZZ_PUBLIC=0; tests/ingest/public_corpus.py fetches
# it from PyPI into ~/.cache/docarchive/fuzz-corpus) through every ingest path.
FUZZ_COUNT  ?= 400
FUZZ_PUBLIC ?= 0
FUZZ_SEED   := $(or $(FUZZ_SEED),$(shell date +%s))
fuzz: install
	@echo "fuzz seed $(FUZZ_SEED) ($(FUZZ_COUNT) files per ingest path)"
	FUZZ_COUNT=$(FUZZ_COUNT) FUZZ_SEED=$(FUZZ_SEED) FUZZ_EXAMPLES=$(FUZZ_COUNT) \
	    FUZZ_PUBLIC=$(FUZZ_PUBLIC) $(BIN)/python -m pytest -q -p no:cacheprovider \
	    tests/ingest/test_fuzz.py tests/ingest/test_public_corpus.py

lint: install
	$(BIN)/ruff check docarchive tests examples bench tools
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_analysis.py
	$(BIN)/python bench/bench_search.py --engines plain,whoosh,tantivy,postgresql
	$(BIN)/python bench/bench_search.py --growth 10000,100000,1000000
	$(BIN)/python bench/bench_numbering.py
	$(BIN)/python bench/bench_stamp.py
	$(BIN)/python bench/bench_issue.py
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_storage.py
	$(BIN)/python bench/bench_mail.py
	$(BIN)/python bench/bench_scans.py 10
	$(BIN)/python bench/bench_followup.py
	$(BIN)/python bench/bench_private.py

clean:
	rm -rf $(VENV) $(DEMO) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
