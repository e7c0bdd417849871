#!/bin/sh
# Mutation testing of the review's metrics against the corpus's truth tests (mutmut).
# MG_CORPUS_ONLY (scenario names, comma-separated) limits the corpus the mutants face.
# mutmut finds the code under ./, src/ or source/, so the package is staged under src/ in
# build/mutation; the tests run there against the mutated copy. Usage: mutation.sh PYTHON [SCOPE...]
set -e
PY="$1"; shift
SCOPE="${*:-src/massage_glove/review/metrics.py}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
STAGE="$ROOT/build/mutation"
rm -rf "$STAGE"
mkdir -p "$STAGE/src" "$STAGE/tests"
cp -r "$ROOT/host/massage_glove" "$STAGE/src/"
find "$STAGE/src" -name __pycache__ -prune -exec rm -rf {} +
cp "$ROOT/tests/conftest.py" "$STAGE/tests/"
cp -r "$ROOT/tests/review" "$STAGE/tests/review"
find "$STAGE/tests" -name __pycache__ -prune -exec rm -rf {} +
ONLY=""
for f in $SCOPE; do ONLY="$ONLY\"$f\", "; done
cat > "$STAGE/pyproject.toml" <<TOML
[tool.mutmut]
source_paths = ["src"]
only_mutate = [$ONLY]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]
pytest_add_cli_args_test_selection = ["tests/review/test_metric_units.py", "tests/review/test_fresh.py"]
TOML
cd "$STAGE"
export MG_CORPUS_DIR="$STAGE/corpus" MG_FRESH=1
# MUTANTS: mutmut name patterns (e.g. "*x_rhythm__mutmut_*") to run a part of the mutants
"$PY" -m mutmut run --max-children "${MUTMUT_CHILDREN:-2}" $MUTANTS || true
"$PY" -m mutmut results --all true > "$STAGE/results.txt" 2>&1 || "$PY" -m mutmut results > "$STAGE/results.txt" 2>&1 || true
"$PY" "$ROOT/tests/review/mutation_score.py" "$STAGE" $SCOPE
