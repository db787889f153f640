#!/usr/bin/env bash
# One GPU call: continue the generator from the shipped export (or a committed state) on the pack,
# and leave in $OUT what comes back: the compact state, the log and the sample grids.
# Usage (device tool, repository root, runs/gpu carried: the pack and HUMAN_MODELS):
#   bash scripts/training/gpu-run.sh MINUTES [extra train.py args]
set -o pipefail
export PYTHONUNBUFFERED=1 HUMAN_MODELS=$PWD/runs/gpu/human-models
minutes=${1:-7.8}; shift
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__)'
mkdir -p "$OUT/state"
timeout $(( ${minutes%.*} * 60 + 90 )) python3 scripts/training/train.py --pack runs/gpu/pack --run /tmp/run --minutes "$minutes" \
  --batch 256 --id-batch 64 --threads 8 --state-out "$OUT/state" --snapshots /tmp/snap "$@" 2>&1 \
  | grep --line-buffered -v Warning | tee "$OUT/train.log"
cp /tmp/snap/snapshot-half.npz /tmp/snap/*.png "$OUT/" 2>/dev/null
ls -la "$OUT" "$OUT/state"
