#!/usr/bin/env bash
# Turns what training/device/train.sh left in $OUT (fetched here by the device tool) into a working
# folder the recipe can export, benchmark and go on training:
#   training/device/unpack.sh FILES_FOLDER RUN_FOLDER [MODEL]
# MODEL is the pipeline folder the GPU run started from (default models/moviola-mini): its tokenizer
# and VAE, which the GPU run did not change, complete the folder.
set -euo pipefail
files=${1:?usage: unpack.sh FILES_FOLDER RUN_FOLDER [MODEL]}
run=${2:?usage: unpack.sh FILES_FOLDER RUN_FOLDER [MODEL]}
model=${3:-models/moviola-mini}
compgen -G "$files/weights.tar.part-*" >/dev/null || { echo "no weights.tar.part-* in $files" >&2; exit 1; }
expected=$(cat "$files/weights.tar.sha256")
actual=$(cat "$files"/weights.tar.part-* | sha256sum | cut -d' ' -f1)
if [ "$expected" != "$actual" ]; then
  echo "the parts in $files do not add up to what train.sh packed (sha256 $actual, expected $expected)" >&2
  exit 1
fi
python3 -m training.recipe.train --config cpu --out "$run" --import-pipeline "$model"
cat "$files"/weights.tar.part-* | tar -C "$run" -xf -
echo "unpacked into $run: $(cat "$run/dit_progress.json")"
echo "next: python3 -m training.recipe.train --config cpu --out $run --stage export --export /tmp/gpu-export"
