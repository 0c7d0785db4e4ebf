#!/bin/sh
# Rebuild the demo model (models/demo) from scratch: corpus -> tokenizer -> training.
#
#   scripts/train_demo/train_demo.sh OUT_DIR [WORK_DIR]
#
# Needs: apt-get install -y bible-kjv python3-torch   (and node + tests/npm for the
# tokenizer check). Debian's python3-torch calls BLAS through libblas.so.3, which is
# the slow reference BLAS unless an optimised one is selected; with OpenBLAS
# (apt-get install -y libopenblas0-pthread) training is about 12x faster on the same
# machine. Results are deterministic for a given BLAS and thread count (fixed seeds,
# batches drawn from a per-step seeded generator).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:?usage: train_demo.sh OUT_DIR [WORK_DIR]}
work=${2:-/tmp/aae-demo-train}
py=/usr/bin/python3
# One thread: on a shared 2-core machine one thread trains about twice as fast as two
# (two OpenMP/BLAS threads at nice 19 spend their time waiting for each other).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

$py "$here/corpus.py" --out "$work/corpus"
check=""
[ -d "$repo/tests/npm/node_modules/@lenml/tokenizers" ] && check="--check-npm $repo/tests/npm"
# shellcheck disable=SC2086
$py "$here/train_tokenizer.py" --corpus "$work/corpus" --vocab-size 4096 --context 256 \
    --out "$work/tokenizer" $check
nice -n 19 $py "$here/train.py" --corpus "$work/corpus" --tokenizer "$work/tokenizer" \
    --out "$out" --work "$work/state" --hidden 256 --layers 4 --heads 4 --kv-heads 4 \
    --intermediate 688 --ctx 256 --batch 16 --steps 900 --warmup 60 --decay-steps 150 --lr 2e-3 \
    --min-lr-ratio 0.1 --weight-decay 0.1 --seed 1611 --threads 1 --dtype f16 --resume
