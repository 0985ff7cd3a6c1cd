#!/usr/bin/env bash
# Offline checks of Herald's Bicep templates (no Bicep compiler exists on PyPI/npm/Debian):
#   a) every infra/*.bicep parses with pycep-parser (syntax only);
#   b) checkov's bicep policies pass, with the skips listed and explained in infra/.checkov.yaml
#      (checkov exits 0 on files it cannot parse, so its output is searched for that too);
#   b2) checkov's Dockerfile policies on ./Dockerfile (same skip file);
#   c) infra/lint_bicep.py: Herald's own rules, evaluated for each hosting plan.
# Needs no network but PyPI, and only on the first run: the tools live in their own venv,
# .venv-infra at the repo root, rebuilt whenever infra/requirements.txt changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv=.venv-infra
requirements=infra/requirements.txt
stamp="$venv/requirements.sha256"

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f s", b - a }'; }

start=$(seconds)
if [[ ! -x "$venv/bin/python" ]] || ! sha256sum --status --check "$stamp" 2>/dev/null; then
    python=${PYTHON:-$(command -v python3.11 || command -v python3)}
    echo "validate: building $venv with $("$python" --version)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # pip's output goes to a log that is shown only when the install fails.
    if ! "$venv/bin/pip" install --disable-pip-version-check -r "$requirements" \
        >"$venv/pip.log" 2>&1; then
        cat "$venv/pip.log" >&2
        echo "validate: installing $requirements failed" >&2
        exit 1
    fi
    sha256sum "$requirements" >"$stamp"
fi
echo "validate: venv ready ($(elapsed "$start"))"

mapfile -t files < <(find infra -name '*.bicep' | sort)
if [[ ${#files[@]} -eq 0 ]]; then
    echo "validate: no .bicep files under infra/" >&2
    exit 1
fi

step=$(seconds)
"$venv/bin/python" - "${files[@]}" <<'PY'
import sys
from pathlib import Path

from pycep import BicepParser

failed = False
for name in sys.argv[1:]:
    try:
        BicepParser().parse(file_path=Path(name))
    except Exception as exc:  # any parser error is a finding: report it, go on, fail at the end
        failed = True
        print(f"{name}: does not parse: {type(exc).__name__}: {exc}", file=sys.stderr)
    else:
        print(f"validate: {name} parses")
sys.exit(1 if failed else 0)
PY
echo "validate: (a) pycep parse ok ($(elapsed "$step"))"

# checkov exits 0 on a file it cannot parse and only says so in its output.
checkov() {
    local label=$1 status=0 output
    shift
    output=$("$venv/bin/checkov" --config-file infra/.checkov.yaml "$@" 2>&1) || status=$?
    echo "$output"
    if [[ $status -ne 0 ]]; then
        echo "validate: ($label) checkov failed (exit $status)" >&2
        exit 1
    fi
    if grep -q "Parsing errors" <<<"$output"; then
        echo "validate: ($label) checkov could not parse a file" >&2
        exit 1
    fi
}

step=$(seconds)
checkov b --directory infra
echo "validate: (b) checkov on infra/ ok ($(elapsed "$step"))"

step=$(seconds)
checkov b2 --framework dockerfile --file Dockerfile
echo "validate: (b2) checkov on Dockerfile ok ($(elapsed "$step"))"

step=$(seconds)
"$venv/bin/python" infra/lint_bicep.py --parameters infra/main.parameters.json infra/main.bicep
echo "validate: (c) lint ok ($(elapsed "$step"))"
echo "validate: all checks passed in $(elapsed "$start")"
