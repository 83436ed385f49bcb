#!/usr/bin/env bash
# The static pass costs no more than importing torch: `cnnstat summary resnet50 --device meta
# --batch 32 --input 3x512x512` (the table on stdout) against `python -c "import torch"`, whole
# process, in pairs; target: median ratio at most 1.2x (it was 1.40x).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(dirname "$(command -v python)")
farm-bench -n 10 --timeout 600 --vs "$bin/python -c 'import torch'" -- \
    "$bin/cnnstat" summary resnet50 --device meta --batch 32 --input 3x512x512
