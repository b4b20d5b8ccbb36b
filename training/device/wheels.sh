#!/usr/bin/env bash
# Fetches (here, from PyPI) the wheels the GPU machine's image lacks, into .whl/ at the repository
# root, which git ignores and the device tool carries: run once before the first GPU call.
set -euo pipefail
cd "$(dirname "$0")/../.."
diffusers=$(grep -E '^diffusers==' training/requirements.txt)
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any -d .whl \
  "$diffusers" importlib_metadata==8.7.0
ls -l .whl
