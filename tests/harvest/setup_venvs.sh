#!/usr/bin/env bash
# Create (once) the separate virtualenv a harvester test runs in, and print its python.
#
#   tests/harvest/setup_venvs.sh udata   # udata + mongomock (data.gouv.fr's DCAT harvester)
#   tests/harvest/setup_venvs.sh ckan    # ckan + ckanext-dcat (CKAN's RDF parser), no database
#
# The harvesters bring ~100 packages each (Flask 2, old pins…) that must not enter cohesio's own
# environment. Each venv lives in $COHESIO_HARVEST_VENVS (default ~/.cache/cohesio) under a name
# keyed by the hash of its requirements file and the Python version, so a change of pins makes a
# new one and an unchanged one is reused (a marker file is written only once the install is
# complete; a half-made venv is rebuilt). Concurrent callers are serialised with flock.
# Interpreter: $COHESIO_HARVEST_PYTHON, else python3.
set -euo pipefail

name=${1:?usage: setup_venvs.sh udata|ckan}
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements-$name.txt"
[ -f "$req" ] || { echo "no $req" >&2; exit 2; }
py=${COHESIO_HARVEST_PYTHON:-python3}
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
key=$( { cat "$req" "$0"; echo "$pyver"; } | sha256sum | cut -c1-12)
root=${COHESIO_HARVEST_VENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/cohesio}
venv="$root/venv-$name-$key"
mkdir -p "$root"

if [ -f "$venv/.complete" ]; then echo "$venv/bin/python"; exit 0; fi

exec 9>"$root/.lock-$name"
flock 9
if [ -f "$venv/.complete" ]; then echo "$venv/bin/python"; exit 0; fi

rm -rf "$venv"
"$py" -m venv "$venv" >&2
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip >&2
"${pip[@]}" install -r "$req" >&2
if [ "$name" = ckan ]; then
    "$venv/bin/python" - > "$venv/ckan-runtime.txt" <<'PY'
import importlib.metadata as m
for r in m.requires("ckan") or []:
    spec, _, marker = r.partition(";")
    if "requirements" in marker and not spec.strip().lower().startswith("psycopg2"):
        print(spec.strip())
PY
    "${pip[@]}" install -r "$venv/ckan-runtime.txt" -r "$req" >&2
fi
touch "$venv/.complete"
echo "$venv/bin/python"
