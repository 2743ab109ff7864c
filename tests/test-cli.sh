#!/bin/sh
# Exit codes and output of the gimp-diffusion command-line tool.
# Usage: test-cli.sh PATH/TO/gimp-diffusion TESTS/DATA
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -u
exe=$1
data=$2
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dm-test-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/cli-lib.sh"

expect 0 "info on tiny_attn" "$exe" info "$data/tiny_attn"
check "info prints the parameter count" "$tmp/out" '^parameters: 702499 '
check "info prints the kind" "$tmp/out" 'diffusers model folder'
check "info prints the config" "$tmp/out" 'block_out_channels +32, 64'
check "info prints the scheduler" "$tmp/out" 'beta_schedule +linear'
check "info prints GFLOP" "$tmp/out" 'GFLOP'
[ -s "$tmp/err" ] && { echo "FAIL info wrote to stderr"; failures=$((failures + 1)); }

expect 0 "--help" "$exe" --help
check "--help lists info" "$tmp/out" '^  info '
expect 0 "-h" "$exe" -h
expect 0 "--version" "$exe" --version
check "--version prints the version" "$tmp/out" '^gimp-diffusion [0-9]+\.[0-9]+'
expect 0 "info --help" "$exe" info --help
check "info --help shows the synopsis" "$tmp/out" 'info .*MODEL'
expect 0 "help info" "$exe" help info

expect 2 "no command" "$exe"
check_one_error "no command"
expect 2 "unknown command" "$exe" frobnicate
check_one_error "unknown command"
check "unknown command is named" "$tmp/err" "frobnicate"
expect 2 "info without MODEL" "$exe" info
check_one_error "info without MODEL"
expect 2 "info with two MODELs" "$exe" info a b
expect 2 "unknown option" "$exe" info --no-such-option "$data/tiny_attn"
check_one_error "unknown option"
expect 2 "missing model" "$exe" info "$tmp/does-not-exist"
check_one_error "missing model"
check "missing model is named" "$tmp/err" "does-not-exist"

printf 'this is not a safetensors file' >"$tmp/corrupt.safetensors"
expect 2 "corrupt file" "$exe" info "$tmp/corrupt.safetensors"
check_one_error "corrupt file"
printf '\010\000\000\000\000\000\000\000{"a": 1}' >"$tmp/bad-entry.safetensors"
expect 2 "corrupt header" "$exe" info "$tmp/bad-entry.safetensors"
check_one_error "corrupt header"

mkdir "$tmp/empty-folder"
expect 2 "folder without a model" "$exe" info "$tmp/empty-folder"
check_one_error "folder without a model"

# info on Stable Diffusion checkpoints: a pipeline folder's family from its
# configs (no weights read), other kinds of files named.
sd="$tmp/sd-pipeline"
mkdir -p "$sd/unet" "$sd/vae" "$sd/text_encoder" "$sd/scheduler"
printf '%s' '{"unet": ["diffusers", "UNet2DConditionModel"],
  "vae": ["diffusers", "AutoencoderKL"],
  "text_encoder": ["transformers", "CLIPTextModel"],
  "tokenizer": ["transformers", "CLIPTokenizer"],
  "scheduler": ["diffusers", "PNDMScheduler"]}' >"$sd/model_index.json"
printf '%s' '{"_class_name": "UNet2DConditionModel", "in_channels": 9,
  "cross_attention_dim": 768, "sample_size": 64}' >"$sd/unet/config.json"
printf '%s' '{"block_out_channels": [128, 256, 512, 512],
  "layers_per_block": 2, "latent_channels": 4, "norm_num_groups": 32}' \
  >"$sd/vae/config.json"
printf '%s' '{"hidden_size": 768, "intermediate_size": 3072,
  "num_attention_heads": 12, "num_hidden_layers": 12}' \
  >"$sd/text_encoder/config.json"
printf '%s' '{"_class_name": "PNDMScheduler", "beta_schedule":
  "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}' \
  >"$sd/scheduler/scheduler_config.json"
expect 0 "info on an SD pipeline folder" "$exe" info "$sd"
check "info names the SD version" "$tmp/out" '^version: +Stable Diffusion 1\.x$'
check "info names the task" "$tmp/out" '^task: +inpainting'
check "info names the prediction and its source" "$tmp/out" \
  '^prediction: +epsilon \(from its scheduler config\)'
check "info names the image size" "$tmp/out" '^image size: +512 x 512'
# A safetensors file holding one F32 tensor $1 (a zero), written to $2.
one_tensor_file() {
  header="{\"$1\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
  printf "\\$(printf %03o ${#header})\\000\\000\\000\\000\\000\\000\\000%s\\000\\000\\000\\000" \
    "$header" >"$2"
}
one_tensor_file conditioner.embedders.0.model.x "$tmp/sdxl.safetensors"
expect 2 "info on an SDXL checkpoint" "$exe" info "$tmp/sdxl.safetensors"
check_one_error "info on an SDXL checkpoint"
check "SDXL is named" "$tmp/err" 'an SDXL checkpoint'
one_tensor_file lora_unet_x.lora_down.weight "$tmp/lora.safetensors"
expect 2 "info on a LoRA" "$exe" info "$tmp/lora.safetensors"
check "a LoRA is named" "$tmp/err" 'is a LoRA'
printf 'PK\003\004' >"$tmp/model.ckpt"
expect 2 "info on a pickle" "$exe" info "$tmp/model.ckpt"
check "a pickle is refused" "$tmp/err" 'convert it to .safetensors'

# sample: writes an image, deterministic per seed, nothing on bad input.
expect 0 "sample ddim" "$exe" sample -q --model "$data/tiny_attn" --steps 3 \
  --seed 5 --size 24x16 --out "$tmp/a.png"
[ -s "$tmp/a.png" ] || { echo "FAIL sample wrote no file"; failures=$((failures + 1)); }
expect 0 "sample again" "$exe" sample -q --model "$data/tiny_attn" --steps 3 \
  --seed 5 --size 24x16 --out "$tmp/b.png"
cmp -s "$tmp/a.png" "$tmp/b.png" ||
  { echo "FAIL the same seed gave a different image"; failures=$((failures + 1)); }
expect 0 "sample ddpm" "$exe" sample -q --model "$data/tiny_attn" --sampler ddpm \
  --steps 2 --out "$tmp/c.png"
for sampler in sde pc ode langevin; do
  expect 0 "sample $sampler" "$exe" sample -q --model "$data/tiny_attn" \
    --sampler "$sampler" --steps 2 --corrector-steps 2 --out "$tmp/$sampler.png"
done
expect 2 "sample pc with snr 0" "$exe" sample -q --model "$data/tiny_attn" \
  --sampler pc --snr 0 --out "$tmp/d.png"
expect 2 "sample with 0 steps" "$exe" sample -q --model "$data/tiny_attn" \
  --steps 0 --out "$tmp/d.png"
check_one_error "sample with 0 steps"
expect 2 "sample with an unknown sampler" "$exe" sample --model "$data/tiny_attn" \
  --sampler nope --out "$tmp/d.png"
check "unknown sampler is named" "$tmp/err" "nope"
expect 2 "sample with a bad size" "$exe" sample --model "$data/tiny_attn" \
  --size 12 --out "$tmp/d.png"
expect 0 "sample --seamless" "$exe" sample -q --model "$data/tiny_attn" \
  --steps 2 --size 24x16 --seamless --out "$tmp/seamless.png"
expect 2 "sample --seamless with an odd width" "$exe" sample -q --model \
  "$data/tiny_attn" --steps 2 --size 23x16 --seamless --out "$tmp/d.png"
check "the seamless size error names the multiple" "$tmp/err" "multiples of"
expect 2 "sample without --out" "$exe" sample --model "$data/tiny_attn"
[ ! -e "$tmp/d.png" ] || { echo "FAIL a failed sample left a file"; failures=$((failures + 1)); }

# inpaint: a 24x16 PPM gradient and a PGM mask with a white box at
# x 8..15, y 4..11. Every byte that changes must lie in the box, and the box
# must change (the mask is hard, so outside it the output is the input).
# in_box X Y: whether pixel (X, Y) is in the mask's box.
in_box() { [ "$1" -ge 8 ] && [ "$1" -le 15 ] && [ "$2" -ge 4 ] && [ "$2" -le 11 ]; }
# ramp_ppm [BOX_RGB]: the gradient as a PPM, its box painted BOX_RGB (three
# octal escapes) when given.
ramp_ppm() {
  printf 'P6\n24 16\n255\n'
  for y in $(seq 0 15); do for x in $(seq 0 23); do
    if [ -n "${1-}" ] && in_box "$x" "$y"; then
      printf "$1"
    else
      printf "\\$(printf %03o $((x * 10)))\\$(printf %03o $((y * 15)))\\200"
    fi
  done; done
}
ramp_ppm >"$tmp/in.ppm"
{
  printf 'P5\n24 16\n255\n'
  for y in $(seq 0 15); do for x in $(seq 0 23); do
    if in_box "$x" "$y"; then printf '\377'; else printf '\000'; fi
  done; done
} >"$tmp/mask.pgm"
# bytes_outside IN.raw OUT.raw BYTES_PER_PIXEL: how many bytes differ
# outside the mask's box (x 8..15, y 4..11 of the 24-pixel-wide image).
bytes_outside() {
  cmp -l "$1" "$2" | awk -v bpp="$3" '{
    p = int(($1 - 1) / bpp); x = p % 24; y = int(p / 24)
    if (x < 8 || x > 15 || y < 4 || y > 11) n++ } END { print n + 0 }'
}
# byte_distance A B: the sum of |a - b| over the bytes of two equal-sized
# files (cmp -l prints the differing ones in octal).
byte_distance() {
  cmp -l "$1" "$2" | awk 'function dec(o,  v, i) {
      for (i = 1; i <= length(o); i++) v = 8 * v + substr(o, i, 1)
      return v }
    { d = dec($2) - dec($3); n += d < 0 ? -d : d } END { print n + 0 }'
}
# check_kept NAME IN.raw OUT.raw BYTES_PER_PIXEL: nothing outside the box
# changed.
check_kept() {
  outside=$(bytes_outside "$2" "$3" "$4")
  if [ "$outside" -eq 0 ]; then
    echo "ok   $1: nothing outside the mask changed"
  else
    echo "FAIL $1: $outside bytes changed outside the mask"
    failures=$((failures + 1))
  fi
}
expect 0 "inpaint" "$exe" inpaint -q --model "$data/tiny_attn" --steps 4 \
  --image "$tmp/in.ppm" --mask "$tmp/mask.pgm" --out "$tmp/out.ppm"
pixels=$((24 * 16 * 3))
tail -c "$pixels" "$tmp/in.ppm" >"$tmp/in.raw"
tail -c "$pixels" "$tmp/out.ppm" >"$tmp/out.raw" 2>/dev/null
outside=$(bytes_outside "$tmp/in.raw" "$tmp/out.raw" 3)
inside=$(cmp -l "$tmp/in.raw" "$tmp/out.raw" | wc -l)
if [ "$outside" -eq 0 ] && [ "$inside" -gt 0 ]; then
  echo "ok   inpaint: $inside bytes changed, all inside the mask"
else
  echo "FAIL inpaint: $outside bytes changed outside the mask ($inside in all)"
  failures=$((failures + 1))
fi
expect 0 "inpaint with RePaint" "$exe" inpaint -q --model "$data/tiny_attn" \
  --steps 4 --jump-length 2 --jump-repeats 2 --image "$tmp/in.ppm" \
  --mask "$tmp/mask.pgm" --out "$tmp/out2.ppm"
expect 2 "inpaint with a bad jump length" "$exe" inpaint -q --model \
  "$data/tiny_attn" --jump-length -3 --jump-repeats 2 --image "$tmp/in.ppm" \
  --mask "$tmp/mask.pgm" --out "$tmp/e.ppm"
expect 0 "inpaint from the smooth fill (strength 0.5), edges matched" \
  "$exe" inpaint -q --model "$data/tiny_attn" --steps 4 --strength 0.5 \
  --match-edges --image "$tmp/in.ppm" --mask "$tmp/mask.pgm" \
  --out "$tmp/out3.ppm"
tail -c "$pixels" "$tmp/out3.ppm" >"$tmp/out3.raw" 2>/dev/null
check_kept "edges matched" "$tmp/in.raw" "$tmp/out3.raw" 3
# The input with its hole painted red, inpainted by DDIM's last step of 50
# (t = 0; the default schedule's leading spacing), the edges not matched:
# the result is close to the start image, the painted hole with
# --from-pixels, the smooth fill (here the input's ramp) without.
ramp_ppm '\377\000\000' >"$tmp/painted.ppm"
tail -c "$pixels" "$tmp/painted.ppm" >"$tmp/painted.raw"
for start in smooth pixels; do
  expect 0 "inpaint at strength 0.02 from the $start start" \
    "$exe" inpaint -q --model "$data/tiny_attn" --steps 50 --strength 0.02 \
    --no-match-edges $([ $start = pixels ] && echo --from-pixels) \
    --image "$tmp/painted.ppm" \
    --mask "$tmp/mask.pgm" --out "$tmp/$start.ppm"
  tail -c "$pixels" "$tmp/$start.ppm" >"$tmp/$start.raw" 2>/dev/null
  check_kept "from the $start start" "$tmp/painted.raw" "$tmp/$start.raw" 3
done
from_paint=$(byte_distance "$tmp/painted.raw" "$tmp/pixels.raw")
smooth_from_paint=$(byte_distance "$tmp/painted.raw" "$tmp/smooth.raw")
if [ "$from_paint" -lt $((smooth_from_paint / 4)) ]; then
  echo "ok   --from-pixels keeps the painted hole: $from_paint levels from" \
    "it in all, $smooth_from_paint from the smooth start"
else
  echo "FAIL --from-pixels: $from_paint levels from the painted hole," \
    "$smooth_from_paint from the smooth start"
  failures=$((failures + 1))
fi
expect 2 "inpaint with strength 2" "$exe" inpaint -q --model \
  "$data/tiny_attn" --strength 2 --image "$tmp/in.ppm" \
  --mask "$tmp/mask.pgm" --out "$tmp/e.ppm"
check_one_error "inpaint with strength 2"
check "inpaint with strength 2 names the option, value and range" "$tmp/err" \
  "strength 2 is out of range: it must be a number from 0 to 1"
# 16-bit: a 16-bit PPM stays 16-bit, and its unmasked samples stay exact.
{
  printf 'P6\n24 16\n65535\n'
  for y in $(seq 0 15); do for x in $(seq 0 23); do
    printf "\\$(printf %03o $((x * 10)))\\$(printf %03o $((y + 7)))"
    printf "\\$(printf %03o $((y * 15)))\\$(printf %03o $((x + 3)))\\200\\001"
  done; done
} >"$tmp/in16.ppm"
expect 0 "inpaint a 16-bit image" "$exe" inpaint -q --model "$data/tiny_attn" \
  --steps 3 --image "$tmp/in16.ppm" --mask "$tmp/mask.pgm" --out "$tmp/out16.ppm"
check "16-bit output stays 16-bit" "$tmp/out16.ppm" '^65535$'
tail -c $((pixels * 2)) "$tmp/in16.ppm" >"$tmp/in16.raw"
tail -c $((pixels * 2)) "$tmp/out16.ppm" >"$tmp/out16.raw"
check_kept "16-bit inpaint" "$tmp/in16.raw" "$tmp/out16.raw" 6

# Ctrl-C: a long run interrupted after a second stops and writes nothing.
"$exe" sample -q --model "$data/ddpm_like" --sampler ddpm --steps 1000 \
  --out "$tmp/interrupted.png" >"$tmp/out" 2>"$tmp/err" &
interrupt $!
if [ "$status" -eq 130 ] && [ ! -e "$tmp/interrupted.png" ] &&
   grep -q "interrupted: nothing was written" "$tmp/err"; then
  echo "ok   Ctrl-C: exit 130, $(cat "$tmp/err"), no file"
else
  echo "FAIL Ctrl-C: exit $status, file $(ls "$tmp"/interrupted.png 2>&1)"
  failures=$((failures + 1))
fi

# A long run says what it will cost before it starts (here RePaint, ten
# steps resampled 100 times over 1000 steps: about 100 000 evaluations),
# and Ctrl-C stops it; work of days is refused.
"$exe" inpaint --model "$data/tiny_attn" --steps 1000 --jump-length 10 \
  --jump-repeats 100 --image "$tmp/in.ppm" --mask "$tmp/mask.pgm" \
  --out "$tmp/long.ppm" >"$tmp/out" 2>"$tmp/err" &
interrupt $!
check "a long run names its cost" "$tmp/err" \
  "this run takes [0-9]+ network evaluations on a [0-9]+x[0-9]+ area, about"
expect 2 "a 16384x16384 sample" "$exe" sample -q --model "$data/tiny_attn" \
  --size 16384x16384 --out "$tmp/days.png"
check "its cost is named" "$tmp/err" \
  "network evaluations on a 16384x16384 area, about .* more than 12 hours"

printf 'P5\n24 16\n255\n' >"$tmp/empty.pgm"
head -c $((24 * 16)) /dev/zero >>"$tmp/empty.pgm"
expect 2 "inpaint with an empty mask" "$exe" inpaint --model "$data/tiny_attn" \
  --image "$tmp/in.ppm" --mask "$tmp/empty.pgm" --out "$tmp/e.ppm"
check_one_error "inpaint with an empty mask"
printf 'P5\n2 2\n255\n\377\377\377\377' >"$tmp/small.pgm"
expect 2 "inpaint with a mask of another size" "$exe" inpaint --model \
  "$data/tiny_attn" --image "$tmp/in.ppm" --mask "$tmp/small.pgm" --out "$tmp/e.ppm"
check "size mismatch is explained" "$tmp/err" "2x2"
expect 2 "inpaint with a missing image" "$exe" inpaint --model "$data/tiny_attn" \
  --image "$tmp/nope.png" --mask "$tmp/mask.pgm" --out "$tmp/e.ppm"
[ ! -e "$tmp/e.ppm" ] || { echo "FAIL a failed inpaint left a file"; failures=$((failures + 1)); }

if [ "$failures" -eq 0 ]; then
  echo "all checks passed"
  exit 0
fi
echo "FAILED ($failures)"
exit 1
