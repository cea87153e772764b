#!/usr/bin/env bash
# One-command setup: creates .venv (Python 3.11) and installs umd-meltingpot
# with its pinned dependencies, offline except for the package registries.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv}"

if ! command -v "$PYTHON" >/dev/null; then
  echo "setup.sh: $PYTHON not found; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

"$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --upgrade pip setuptools wheel

# dm-meltingpot 2.4.1 is an sdist whose build downloads a bot-model archive
# from a host we cannot reach. Its build first looks for that archive in
# tempfile.gettempdir(), so we leave an empty stand-in there (see
# tools/meltingpot_asset_stub.py). Melting Pot's TF bots are therefore absent.
"$PY" tools/meltingpot_asset_stub.py

"$PY" -m pip install -r requirements.txt -r requirements-dev.txt
"$PY" -m pip install --no-deps -e .

"$PY" -c "import umd_meltingpot, dmlab2d, meltingpot; print('umd-meltingpot ready:', umd_meltingpot.__version__)"
echo "Activate with: source $VENV/bin/activate"
