#!/usr/bin/env bash
# Speed targets of the static path, whole process, paired runs (farm-bench prints min/median/max and A/B):
#  1. `cnnstat summary resnet50 --batch 32 --input 3x512x512 --device meta` against torchinfo.summary on the
#     same net and input: wall time at most 1/10 of torchinfo's, peak RSS at most 1 GiB.
#  2. `cnnstat list` against `python -c "import torch"`: median at most 0.2x.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(dirname "$(command -v python)")
farm-bench -n 3 --timeout 600 --vs "$bin/python benchmarks/torchinfo_resnet50.py" -- \
    "$bin/cnnstat" summary resnet50 --batch 32 --input 3x512x512 --device meta --format json -o /tmp/cnnstat-bench.json
farm-bench -n 10 --vs "$bin/python -c 'import torch'" -- "$bin/cnnstat" list
