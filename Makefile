# kmbench: two commands on a fresh machine.
#   make bench   set everything up, run the main job on the bundled data
#   make test    set everything up, run the tests
# Both are idempotent: the virtual environment is rebuilt only when
# pyproject.toml or this file changes, extensions only when a .pyx changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
VPY    := $(VENV)/bin/python
PIP    := $(VPY) -m pip
STAMP  := $(VENV)/.kmbench-deps
# torch CPU build for the GPU backend's tests (the machine image ships this wheel).
TORCH  ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: all venv build test bench lint clean validate asv-quick regress browser docs peers-system valgrind

all: test

$(STAMP): pyproject.toml Makefile
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77" wheel
	$(PIP) install -q "numpy>=2.0,<3" "Cython>=3.0" scipy "scikit-learn>=1.4"
	# scikit-learn-extra 0.3.0 wheels are built against NumPy 1 and fail to import
	# under NumPy 2: build it from source against the NumPy installed above.
	$(PIP) install -q --no-build-isolation --no-binary scikit-learn-extra "scikit-learn-extra==0.3.0"
	$(PIP) install -q $(TORCH) || echo "kmbench: $(TORCH) not installable here; the torch backend will be listed as unavailable"
	$(PIP) install -q --no-build-isolation -e ".[peers,bench,dev,docs,dask]"
	-$(PIP) install -q banditpam || echo "kmbench: banditpam not installable here; its adapter will be listed as unavailable"
	-$(PIP) install -q onebatch || echo "kmbench: onebatch not installable here; onebatchpam/onebatch will be listed as unavailable"
	@touch $@

venv: $(STAMP)

build: $(STAMP)
	@$(VPY) setup.py -q build_ext --inplace -j 2 2>&1 | grep -vE "^(running|copying)|Deprecat|!!|\*{8}|^\s*$$|See https|setuptools|easy_install|by 20|standards-based" || true
	@$(VPY) -c "import bench_core.algorithms._common" || (echo "kmbench: extension build failed" && exit 1)

# The documentation site and the tests (tests/test_docs.py checks the built site), then the
# agreement matrix against the external libraries and one pass of the asv quick profile,
# so that a broken page, suite or a lost agreement fails CI.
test: valgrind build browser peers-system docs
	$(VENV)/bin/ruff check -q bench_core suites tests setup.py docs
	KMBENCH_DOCS_HTML=$(CURDIR)/docs/_build/html $(VPY) -m pytest -q $(PYTEST_ARGS)
	$(VENV)/bin/kmbench validate --quick
	$(MAKE) --no-print-directory asv-quick

bench: build
	$(VENV)/bin/kmbench reproduce quick

# Headless Chromium for the HTML report screenshot test: Debian's chromium,
# installed only when missing and when running as root with apt-get.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	   || command -v google-chrome >/dev/null 2>&1; then \
	  echo "kmbench: chromium found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
	  || echo "kmbench: installing chromium failed; the HTML screenshot test will be skipped"; \
	else \
	  echo "kmbench: chromium missing and not root with apt-get; the HTML screenshot test will be skipped"; \
	fi

# R (cluster) and ELKI 0.7.1 with a headless Java for the R and ELKI adapters: Debian's
# packages, installed only when missing and when running as root with apt-get (the check
# is a second on later runs); otherwise those peers are listed as unavailable with the reason.
PEER_DEBS := r-base-core r-cran-cluster default-jre-headless elki
peers-system:
	@if command -v Rscript >/dev/null 2>&1 && Rscript --vanilla -e 'library(cluster)' >/dev/null 2>&1 \
	   && command -v java >/dev/null 2>&1 && [ -f /usr/share/java/elki.jar ]; then \
	  echo "kmbench: R cluster and ELKI found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PEER_DEBS)) \
	  || echo "kmbench: installing $(PEER_DEBS) failed; the R cluster and ELKI peers will be listed as unavailable"; \
	else \
	  echo "kmbench: R cluster or ELKI missing and not root with apt-get; those peers will be listed as unavailable"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check bench_core suites tests setup.py docs

clean:
	rm -rf build bench_core/**/*.so bench_core/**/*.c docs/_build docs/api/generated docs/auto_examples docs/gallery

# The documentation site (docs/, Sphinx + pydata-sphinx-theme + numpydoc + MyST), built
# offline into docs/_build/html with warnings as errors; the examples in docs/examples/
# run during the build, so a broken example fails it. Incremental: only changed pages
# and examples are rebuilt (make clean starts over).
SPHINXOPTS ?= -W --keep-going -q
docs: build
	OMP_NUM_THREADS=1 $(VPY) -m sphinx -b html $(SPHINXOPTS) docs docs/_build/html
	@echo "kmbench: documentation in docs/_build/html/index.html"

# asv (suites/, asv.conf.json): the quick profile once in the current .venv, so that a
# broken suite fails CI; then asv publish, its JavaScript vendored for offline viewing.
# The instruction profile (Valgrind, about 4 CPU minutes) is left to `make regress`
# unless ASV_INSTRUCTIONS=1; tests/test_instructions.py checks it in `make test`.
ASV_MACHINE ?= kmbench-ci
ASV_INSTRUCTIONS ?= 0
asv-quick: build
	$(VPY) -m asv machine --yes --machine $(ASV_MACHINE) >/dev/null
	KMBENCH_ASV_PROFILE=quick KMBENCH_INSTRUCTIONS=$(ASV_INSTRUCTIONS) $(VPY) -m asv run -E existing:$(CURDIR)/$(VPY) --quick --show-stderr \
	  --machine $(ASV_MACHINE) --set-commit-hash $$(git rev-parse HEAD)
	-$(VPY) -m bench_core.asv_html || echo "kmbench: asv publish failed; the results are in results/asv"

# Valgrind for the instruction-count profile (suites/bench_instructions.py): Debian's
# valgrind (its <valgrind/callgrind.h> is compiled into bench_core.regress._callgrind),
# installed only when missing and when running as root with apt-get; otherwise the
# instruction profile is skipped with the reason and only wall time is gated.
valgrind:
	@if command -v valgrind >/dev/null 2>&1 && [ -f /usr/include/valgrind/callgrind.h ]; then \
	  echo "kmbench: valgrind found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind) \
	  || echo "kmbench: installing valgrind failed; instruction counts will be skipped (wall time still gated)"; \
	else \
	  echo "kmbench: valgrind missing and not root with apt-get; instruction counts will be skipped (wall time still gated)"; \
	fi

# Regression gate: benchmark BASE and HEAD on the quick profile plus the instruction
# profile (Valgrind) and compare (kmbench regress): instructions gated at x$(INSTR_FACTOR),
# wall time at x$(FACTOR). Exit 1: regression (the report names the signal);
# 3: failed/skipped/missing benchmarks; 4: a commit produced no results.
BASE ?= HEAD~1
HEAD ?= HEAD
FACTOR ?= 1.5
INSTR_FACTOR ?= 1.03
REGRESS_ARGS ?=
regress: valgrind build
	$(VENV)/bin/kmbench regress $(BASE) $(HEAD) --machine $(ASV_MACHINE) --factor $(FACTOR) \
	  --instr-factor $(INSTR_FACTOR) $(REGRESS_ARGS)
