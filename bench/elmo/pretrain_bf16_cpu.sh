#!/bin/bash
# bfloat16 autocast against float32 for `tweetsent elmo pretrain` on the CPU (docs/elmo-pretrain.md,
# "Measured on the CPU"): same seed, corpus and steps, one torch thread each, a small biLM.
#   bash bench/elmo/pretrain_bf16_cpu.sh OUT [SEMEVAL_FOLDER]
# Compares OUT/fp32/perplexity.csv with OUT/bf16/perplexity.csv; the seconds column is only a
# speed figure on an otherwise idle machine.
set -euo pipefail
out=${1:?OUT folder}
data=${2:-../shared/data/semeval2017-task4a}
mkdir -p "$out"
python - "$out/small.json" <<'PY'
import sys
from tweetsent.embed.elmo import ElmoOptions
ElmoOptions(filters=((1, 16), (2, 16), (3, 32)), char_embed_dim=16, n_highway=1,
            lstm_dim=128, projection_dim=32).save(sys.argv[1])
PY
for mode in fp32 bf16; do
  extra=(); [ "$mode" = bf16 ] && extra=(--bf16)
  OMP_NUM_THREADS=1 python -m tweetsent.cli elmo pretrain \
    --corpus "$data/twitter-2013train-A.tsv" --column 2 --clean --min-count 2 \
    --options "$out/small.json" --device cpu --threads 1 --batch-size 32 --lr 0.002 \
    --eval-every 100 --heldout-max 300 --checkpoint-every 0 --seed 0 --no-progress \
    "${extra[@]}" --out "$out/$mode"
done
paste -d, "$out/fp32/perplexity.csv" "$out/bf16/perplexity.csv"
