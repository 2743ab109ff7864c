#!/bin/sh
# Makes the mask-conditioned test model for the plug-in's tests: the
# tiny_attn layout (CONFIG) with 7 input channels, trained for 2 steps on
# one 24x24 gradient, so its weights are close to random: a model to test
# the plumbing with, not one that paints.
# Usage: make-mask-model.sh PATH/TO/gimp-diffusion CONFIG.json OUT.safetensors
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -eu
exe=$1 config=$2 out=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dm-mask-model-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/data"
{
  printf 'P6\n24 24\n255\n'
  for y in $(seq 0 23); do for x in $(seq 0 23); do
    printf "\\$(printf %03o $((x * 10 % 256)))\\$(printf %03o $((y * 9 + 40)))\\$(printf %03o $(((x + y) * 5)))"
  done; done
} >"$tmp/data/gradient.ppm"
"$exe" train --data "$tmp/data" --config "$config" --conditioning mask \
  --size 16 --batch 2 --steps 2 --preview-every 0 --work-dir "$tmp/work" \
  --out "$out" -q
