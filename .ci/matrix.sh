#!/usr/bin/env bash
# The support matrix: cnnstat's tests and the commands a user types first, on each torch the README
# names besides the quick start's (which .ci/run tests itself), each in a fresh venv, deleted after.
#
#   bash .ci/matrix.sh                 the README's extras pair, the newest torch, the oldest one
#   bash .ci/matrix.sh checks VENV     only the commands, with VENV's cnnstat (.ci/run: the pin's)
#
# Every report is made without torchvision's table, whose catalogue test runs on the pin and the pair.
#
# Each step prints its seconds. The newest and the oldest torch come from PyPI (about 5 GB each):
# they download and install while the steps before them run.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cnnstat-matrix.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

EVERY_MARKER=(-m "torchvision or timm or not (torchvision or timm)")
# Counting (every zoo model, the op registry), shapes (our rules beside torch's meta kernels),
# memory (estimates held to measurements), the zoo and its loader, and torchvision's models and
# operators: what a torch release could break.
MEMORY=(tests/analysis/test_memory_validation.py tests/analysis/test_fit.py)
CORE=(tests/analysis/test_static.py tests/analysis/test_registry.py tests/analysis/test_build.py
      tests/analysis/test_conv_backward.py tests/analysis/test_meta_shapes.py tests/analysis/test_measure.py
      "${MEMORY[@]}" tests/zoo --ignore=tests/zoo/test_torchvision_catalogue.py --ignore=tests/zoo/test_timm_catalogue.py)

python_of() {  # python_of 3.13: that interpreter, pyenv's or on PATH
    local found
    found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python"$1" 2>/dev/null | tail -1 || true)
    found=${found:-$(command -v "python$1" || true)}
    [ -n "$found" ] || { echo "Python $1 is not installed (pyenv install $1): the matrix needs it" >&2; return 1; }
    echo "$found"
}

checks() {  # checks VENV [REPORT-OPTION]: each command exits 0
    local venv report=${2:-} files command
    venv=$(cd "$1" && pwd)  # the commands run in a folder of their own
    files=$(mktemp -d "$WORK/checks.XXXXXX")
    printf 'import torchvision\n\n\ndef build():\n    return torchvision.models.resnet18()\n' >"$files/net.py"
    for command in "summary resnet18" "summary torchvision:resnet18" \
                   "summary torchvision:fasterrcnn_mobilenet_v3_large_320_fpn" "summary timm:convnext_tiny" \
                   "summary net.py:build --input 3x224x224" "report --out reports $report"; do
        # shellcheck disable=SC2086  # the command's words
        if ! (cd "$files" && "$venv/bin/cnnstat" $command --device meta >/dev/null); then
            echo "cnnstat $command failed" >&2
            return 1
        fi
    done
}

install() {  # install NAME: NAME's venv at $WORK/NAME; its output in NAME.log, "STATUS SECONDS" in NAME.rc
    local venv=$WORK/$1 rc=0 start=$SECONDS
    # From a copy of the project's files: pip writes cnnstat.egg-info beside them, and the pin's
    # install (.ci/run) writes the checkout's at the same time.
    mkdir "$WORK/$1-project" && cp -r pyproject.toml README.md src "$WORK/$1-project"
    cd "$WORK/$1-project"
    case $1 in
    extras)  # the README's extras lines (with this venv), then the test extra
        (set -e
         "$(python_of 3.11)" -m venv "$venv"
         "$venv/bin/pip" install -q torch==2.14.1 torchvision==0.29.1 -e '.[torchvision]'
         "$venv/bin/pip" install -q torch==2.14.1 torchvision==0.29.1 -e '.[timm]'
         "$venv/bin/pip" install -q torch==2.14.1 torchvision==0.29.1 -e '.[test]') >"$WORK/$1.log" 2>&1 || rc=$? ;;
    newest)  # from PyPI itself: this machine's pip configuration caps torch at the release on its disk
        (set -e
         "$(python_of 3.13)" -m venv "$venv"
         PIP_CONFIG_FILE=/dev/null PIP_CERT=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt} \
             "$venv/bin/pip" install -q torch==2.15.0 torchvision==0.29.2 -e '.[test]') >"$WORK/$1.log" 2>&1 || rc=$? ;;
    oldest)
        (set -e
         "$(python_of 3.12)" -m venv "$venv"
         "$venv/bin/pip" install -q torch==2.4.1 torchvision==0.19.1 -e '.[test]') >"$WORK/$1.log" 2>&1 || rc=$? ;;
    esac
    echo "$rc $((SECONDS - start))" >"$WORK/$1.rc"
    cd "$OLDPWD"
}

step() {  # step NAME PYTEST-ARGS...: wait for NAME's venv, run the tests and the checks, delete it
    local name=$1 venv=$WORK/$1 rc=0 versions installed start
    shift
    while [ ! -e "$WORK/$name.rc" ]; do sleep 1; done
    read -r rc installed <"$WORK/$name.rc"
    if [ "$rc" != 0 ]; then
        cat "$WORK/$name.log" >&2
        echo "matrix $name: the install failed" >&2
        return 1
    fi
    versions=$("$venv/bin/python" -c 'import platform, torch, torchvision
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, Python {platform.python_version()}")')
    echo "matrix $name ($versions): installed in $installed s"
    start=$SECONDS
    "$venv/bin/python" -m pytest -p no:cacheprovider "$@" || rc=$?
    # cnnstat report without torchvision's table (minutes: its detection models run on the CPU at
    # their published sizes): the catalogue test, run on the README's pair, counts the same models.
    [ "$rc" -eq 0 ] && { checks "$venv" --no-torchvision || rc=$?; }
    rm -rf "$venv"
    echo "matrix $name ($versions): tests and commands $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
    return "$rc"
}

if [ "${1:-}" = checks ]; then
    checks "$2" --no-torchvision
    exit
fi
(install newest; install oldest) &
install extras
rc=0
# The README's pair: torchvision's whole catalogue and the sample of timm's, as on the pin.
step extras "${EVERY_MARKER[@]}" tests/zoo tests/analysis/test_registry.py "${MEMORY[@]}" || rc=1
step newest "${EVERY_MARKER[@]}" "${CORE[@]}" || rc=1
step oldest "${EVERY_MARKER[@]}" "${CORE[@]}" || rc=1
wait
exit "$rc"
