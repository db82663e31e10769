#!/usr/bin/env bash
# Issue 5 on a GPU machine, in one bounded run: pretrain the tweet ELMo (cpu preset) on the
# SemEval text, then the classifier comparison of bench/elmo/pretrain_compare.py, plus the CUDA
# tests. Used for docs/elmo-pretrain.md on a lent NVIDIA H200 (no network there, so the data
# and a GloVe 50d subset travel in .devdata/, made here with
#   cp -r ../shared/data/semeval2017-task4a .devdata/
#   python bench/elmo/pretrain_compare.py --write-glove-subset .devdata/glove-semeval.bin
# ). Usage: bash bench/elmo/device_run.sh OUT_DIR [PRETRAIN_MINUTES] [SEEDS]
set -uo pipefail
OUT=${1:?output folder}
MINUTES=${2:-5}
SEEDS=${3:-3}
DATA=${DATA:-.devdata/semeval2017-task4a}
GLOVE=${GLOVE:-.devdata/glove-semeval.bin}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/tweetsent-device}
PY=${PY:-python3}
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 TWEETSENT_CACHE=$WORK/cache
mkdir -p "$OUT" "$WORK"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/run.log"; }

log "start; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null)"
$PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, \
'cuda', torch.cuda.is_available())" 2>&1 | tee -a "$OUT/run.log"
$PY -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/pretrain/test_pretrain.py \
    -k "cuda or resume" 2>&1 | tail -5 | tee -a "$OUT/run.log"

corpus=()
for f in "$DATA"/twitter-*.tsv; do
    [[ $(basename "$f") == twitter-2016test-A.tsv ]] || corpus+=("$f")
done
log "pretraining ${#corpus[@]} files for $MINUTES min: batch 32 (lr 1e-3) and batch 128 (lr 2e-3)"
common=(--corpus "${corpus[@]}" --column 2 --clean --min-count 2 --preset cpu --device "$DEVICE"
        --epochs 100 --max-minutes "$MINUTES" --heldout-max 300 --checkpoint-every 2000
        --no-progress)
$PY -m tweetsent.cli elmo pretrain "${common[@]}" --out "$WORK/b32" --batch-size 32 --lr 0.001 \
    --eval-every 250 >"$OUT/pretrain-b32.log" 2>&1 &
$PY -m tweetsent.cli elmo pretrain "${common[@]}" --out "$WORK/b128" --batch-size 128 \
    --lr 0.002 --eval-every 100 >"$OUT/pretrain-b128.log" 2>&1 &
wait
tail -n 3 "$OUT"/pretrain-*.log | tee -a "$OUT/run.log"

# the better held-out mean perplexity (never the test file) picks the model for the classifiers
best=$($PY - "$WORK" <<'EOF'
import csv, sys
from pathlib import Path
scores = {}
for name in ("b32", "b128"):
    path = Path(sys.argv[1]) / name / "perplexity.csv"
    if path.is_file():
        scores[name] = float(list(csv.DictReader(open(path)))[-1]["mean"])
print(min(scores, key=scores.get) if scores else "")
EOF
)
log "held-out choice: ${best:-none}"
[[ -n $best ]] || { log "no pretrained model"; exit 1; }
tar -C "$WORK/$best" -czf "$OUT/elmo-$best.tar.gz" options.json weights.hdf5 vocab.txt \
    corpus.json perplexity.csv perplexity.png
(cd "$WORK" && tar -czf "$OUT/pretrain-extra.tar.gz" b32/perplexity.* b128/perplexity.* \
    -C "$OUT" pretrain-b32.log pretrain-b128.log) && rm -f "$OUT"/pretrain-b*.log

log "classifiers: glove, elmo, elmo+glove x $SEEDS seeds on $DEVICE"
$PY bench/elmo/pretrain_compare.py --elmo "$WORK/$best" --data "$DATA" --glove "$GLOVE" \
    --device "$DEVICE" --seeds "$SEEDS" --parallel "${PARALLEL:-5}" --threads 1 \
    --out "$WORK/compare" >"$OUT/compare.log" 2>&1
log "compare exit $?"
cp "$WORK/compare/results.json" "$WORK/compare/results.md" "$OUT/" 2>/dev/null
tail -n 8 "$OUT/compare.log" | tee -a "$OUT/run.log"
log "done"
