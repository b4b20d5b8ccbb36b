#!/usr/bin/env bash
# Goes on training the bundled model's transformer (and text encoder) on a lent GPU machine, for a
# fixed number of seconds, on clips rendered fresh every step, and packs the new weights into $OUT
# in parts small enough to come back (the device tool returns files of at most 16 MiB).
#
# On the GPU machine, from the repository root (see training/README.md, "On a lent GPU machine"):
#   BUDGET=360 training/device/train.sh
# Here, afterwards: training/device/unpack.sh <files folder> runs/gpu-N, then export and benchmark.
#
# Settings (environment): MODEL (pipeline folder to start from, default models/moviola-mini),
# CONFIG (cpu), SEED (4: its clips were never trained on), BUDGET (seconds of training, 360),
# BATCH (clips a step, 32), LR (3e-4, falling linearly to zero over the whole run), WORKERS
# (rendering processes, all cores but two), DEVICE (cuda), RUN (working folder, /tmp/moviola-gpu-run),
# WHEELS (folder of wheels to install first, .whl), OUT (where the parts go; the device tool sets it).
# The loss settings are the shipped model's (its model card, parts 8–10); extra arguments go to the
# transformer stage after them and override them.
set -euo pipefail
MODEL=${MODEL:-models/moviola-mini}
CONFIG=${CONFIG:-cpu}
SEED=${SEED:-4}
BUDGET=${BUDGET:-360}
BATCH=${BATCH:-32}
LR=${LR:-3e-4}
DEVICE=${DEVICE:-cuda}
RUN=${RUN:-/tmp/moviola-gpu-run}
WORKERS=${WORKERS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
WHEELS=${WHEELS:-.whl}
: "${OUT:?set OUT to the folder the packed weights go to}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

# The GPU image has PyTorch and transformers but not diffusers: training/device/wheels.sh put it in .whl.
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/moviola-site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/moviola-site${PYTHONPATH:+:$PYTHONPATH}
fi
python3 - "$DEVICE" <<'PY'
import sys, torch, diffusers, transformers
device = sys.argv[1]
print(f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}")
if device.startswith("cuda"):
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: run this on the GPU machine, or set DEVICE=cpu")
    print("GPU:", torch.cuda.get_device_name(0))
PY

rm -rf "$RUN"
python3 -m training.recipe.train --config "$CONFIG" --out "$RUN" --import-pipeline "$MODEL"
python3 -m training.recipe.train --config "$CONFIG" --out "$RUN" --stage dit --resume --device "$DEVICE" \
  --seed "$SEED" --dit-batch "$BATCH" --dit-lr "$LR" --dit-steps 100000000 --dit-decay-steps 100000000 \
  --latent-cache-clips 0 --data-workers "$WORKERS" --time-budget "$BUDGET" --checkpoint-every 0 \
  --flow-shift 5 --object-loss-weight 4 --first-frame-balance 20 --text-aux-weight 0.1 "$@" \
  2>&1 | tee "$OUT/train.log"   # pipefail: a failed run stops the script here

# Parts of at most 15 MiB; unpack.sh joins them and checks the sum written here.
tar -C "$RUN" -cf - dit_progress.json text_heads.pt text_encoder transformer | split -b 15M - "$OUT/weights.tar.part-"
cat "$OUT"/weights.tar.part-* | sha256sum | cut -d' ' -f1 > "$OUT/weights.tar.sha256"
cp "$RUN/dit_progress.json" "$OUT/progress.json"
ls -l "$OUT"
