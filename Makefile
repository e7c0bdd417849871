# The two commands of the README, and their helpers. `make test` works on a fresh clone:
# it makes .venv and installs everything the tests need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: practice test bench venv clean review-pngs mutation

# pip shows what it fetches and builds (a first install takes a while): no --quiet
$(STAMP): pyproject.toml setup.py
	@echo "making $(VENV) with the package and its test tools (first time: about a minute)"
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# a guided practice session against the simulated glove, then its review
practice: $(STAMP)
	$(BIN)/massage-glove practice --simulate

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

# the debrief of a good, a heavy and a rushed simulated session, drawn by headless
# Chromium (Debian: apt-get install chromium) to docs/review-*.png
review-pngs: $(STAMP)
	$(BIN)/python docs/review_screenshots.py

# mutation testing of the review's metrics against the corpus (docs/REVIEW.md); SCOPE= to widen
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut>=3.3,<4'
	sh tests/review/mutation.sh $(abspath $(BIN))/python $(SCOPE)

clean:
	rm -rf $(VENV) build *.egg-info
