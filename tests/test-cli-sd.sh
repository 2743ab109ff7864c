#!/bin/sh
# The sampling commands with Stable Diffusion checkpoints: inpaint and
# sample with prompts on tiny random-weight pipeline folders
# (make-sd-checkpoint --tiny), pixels outside the mask unchanged, and bad
# inputs refused with one clear error line.
# Usage: test-cli-sd.sh PATH/TO/gimp-diffusion PATH/TO/make-sd-checkpoint
#        TESTS/DATA
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -u
exe=$1
make_sd=$2
data=$3
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dm-test-cli-sd-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# No installed tokenizer or model is found by accident.
XDG_DATA_HOME="$tmp/data-home" XDG_DATA_DIRS="$tmp/data-dirs"
export XDG_DATA_HOME XDG_DATA_DIRS

. "$(dirname "$0")/cli-lib.sh"

if ! "$make_sd" "$tmp/sd" --tiny inpaint >"$tmp/out" 2>"$tmp/err" ||
   ! "$make_sd" "$tmp/plain" --tiny plain --seed 5 >"$tmp/out" \
     2>"$tmp/err"; then
  cat "$tmp/err"
  echo "SKIP no CLIP vocabulary (DM_TEST_SHARED/clip-tokenizer)"
  exit 77
fi

# A 96x80 gradient and a mask selecting x 40..59, y 30..49 (awk in the C
# locale writes bytes, not UTF-8 characters).
W=96 H=80
LC_ALL=C
export LC_ALL
{ printf 'P6\n%d %d\n255\n' $W $H
  awk -v w=$W -v h=$H 'BEGIN { for (y = 0; y < h; y++) for (x = 0; x < w; x++)
    printf "%c%c%c", 40 + 2 * x, 30 + 2 * y, 200 - x - y }'
} >"$tmp/image.ppm"
{ printf 'P5\n%d %d\n255\n' $W $H
  awk -v w=$W -v h=$H 'BEGIN { for (y = 0; y < h; y++) for (x = 0; x < w; x++)
    printf "%c", (x >= 40 && x < 60 && y >= 30 && y < 50) ? 255 : 0 }'
} >"$tmp/mask.pgm"
header=$(printf 'P6\n%d %d\n255\n' $W $H | wc -c)

# changed_outside NAME OUT: OUT (a PPM) differs from the image only in the
# mask's rectangle, and somewhere in it.
changed_outside() {
  cmp -l "$tmp/image.ppm" "$2" | awk -v hd="$header" -v w=$W '
    { p = int(($1 - 1 - hd) / 3); x = p % w; y = int(p / w)
      if (x < 40 || x >= 60 || y < 30 || y >= 50) outside++; else inside++ }
    END { print outside + 0, inside + 0 }' >"$tmp/counts"
  read outside inside <"$tmp/counts"
  if [ "$outside" -eq 0 ] && [ "$inside" -gt 0 ]; then
    echo "ok   $1: $inside values changed inside the mask, none outside"
  else
    echo "FAIL $1: $outside values changed outside the mask, $inside inside"
    failures=$((failures + 1))
  fi
}

run_inpaint() {
  model=$1 out=$2
  shift 2
  "$exe" inpaint -q -m "$model" --image "$tmp/image.ppm" \
    --mask "$tmp/mask.pgm" --steps 3 --out "$out" "$@"
}

expect 0 "inpaint with a prompt (inpainting checkpoint)" run_inpaint \
  "$tmp/sd" "$tmp/a.ppm" --prompt "a red brick wall" \
  --negative-prompt "blurry" --seed 7
changed_outside "inpainting checkpoint" "$tmp/a.ppm"
expect 0 "the same again" run_inpaint "$tmp/sd" "$tmp/b.ppm" \
  --prompt "a red brick wall" --negative-prompt "blurry" --seed 7
cmp -s "$tmp/a.ppm" "$tmp/b.ppm" && echo "ok   the same seed, the same fill" ||
  { echo "FAIL the same seed gave another fill"; failures=$((failures + 1)); }
expect 0 "another prompt" run_inpaint "$tmp/sd" "$tmp/c.ppm" \
  --prompt "a green meadow" --negative-prompt "blurry" --seed 7
cmp -s "$tmp/a.ppm" "$tmp/c.ppm" &&
  { echo "FAIL the prompt changed nothing"; failures=$((failures + 1)); } ||
  echo "ok   another prompt, another fill"
for sampler in ddim euler euler-ancestral dpmpp-2m-karras; do
  expect 0 "inpaint with $sampler" run_inpaint "$tmp/sd" "$tmp/s.ppm" \
    --prompt "stone" --sampler $sampler
done
expect 0 "inpaint with a plain checkpoint (replacement)" run_inpaint \
  "$tmp/plain" "$tmp/p.ppm" --prompt "a red brick wall" --guidance-scale 3
changed_outside "plain checkpoint" "$tmp/p.ppm"

expect 0 "sample with a prompt" "$exe" sample -q -m "$tmp/sd" --steps 2 \
  --prompt "a lighthouse" --out "$tmp/g.ppm"
check "sample is the checkpoint's native size" "$tmp/g.ppm" '^64 64$'
expect 0 "sample with a size" "$exe" sample -q -m "$tmp/plain" --steps 2 \
  --prompt "a lighthouse" --size 80x48 --out "$tmp/g2.ppm"
check "sample has the size asked for" "$tmp/g2.ppm" '^80 48$'

# Ctrl-C: exit 130, nothing written (a long run: 999 steps of 21
# evaluations)
"$exe" sample -q -m "$tmp/sd" --steps 999 --sampler pc --corrector-steps 20 \
  --prompt "a lighthouse" --out "$tmp/i.ppm" 2>"$tmp/err" &
interrupt $!
if [ "$status" -eq 130 ] && [ ! -e "$tmp/i.ppm" ]; then
  echo "ok   Ctrl-C: exit 130, nothing written"
else
  echo "FAIL Ctrl-C: exit $status"; cat "$tmp/err"
  failures=$((failures + 1))
fi

# bad inputs
cp -RP "$tmp/sd" "$tmp/no-tokenizer"
rm -r "$tmp/no-tokenizer/tokenizer"
expect 2 "a pipeline without its tokenizer" run_inpaint "$tmp/no-tokenizer" \
  "$tmp/x.ppm" --prompt "a wall"
check_one_error "a pipeline without its tokenizer"
check "the tokenizer is named" "$tmp/err" "tokenizer"
expect 2 "--prompt with a pixel-space model" run_inpaint "$data/tiny_attn" \
  "$tmp/x.ppm" --prompt "a wall"
check_one_error "--prompt with a pixel-space model"
check "the prompt is refused by name" "$tmp/err" \
  "--prompt needs a Stable Diffusion checkpoint"
expect 2 "absurd guidance" run_inpaint "$tmp/sd" "$tmp/x.ppm" \
  --prompt "a wall" --guidance-scale 1000
check_one_error "absurd guidance"
check "the guidance range is named" "$tmp/err" \
  "guidance-scale 1000 is out of range"
printf 'not a checkpoint' >"$tmp/junk.safetensors"
expect 2 "a file that is no checkpoint" run_inpaint "$tmp/junk.safetensors" \
  "$tmp/x.ppm" --prompt "a wall"
check_one_error "a file that is no checkpoint"
[ ! -e "$tmp/x.ppm" ] && echo "ok   nothing written on errors" ||
  { echo "FAIL an error left $tmp/x.ppm"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] && echo "all CLI Stable Diffusion checks passed"
exit $((failures > 0))
