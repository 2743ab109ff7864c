#!/bin/sh
# gimp-diffusion train: a small run writes a model, checkpoints and
# previews; a run stopped and resumed has the same loss at every step as an
# uninterrupted one; Ctrl-C saves a checkpoint; bad input is refused.
# Usage: test-cli-train.sh PATH/TO/gimp-diffusion
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -u
exe=$1
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dm-test-train-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli-lib.sh"

# three 24x24 PPM images (gradients of different directions), a corrupt
# PNG and a text file in a folder tree
mkdir -p "$tmp/data/sub"
for k in 1 2 3; do
  {
    printf 'P6\n24 24\n255\n'
    for y in $(seq 0 23); do for x in $(seq 0 23); do
      printf "\\$(printf %03o $(((x * 10 * k) % 256)))\\$(printf %03o $(((y * 9 + k * 40) % 256)))\\$(printf %03o $(((x + y) * 5 % 256)))"
    done; done
  } >"$tmp/data/sub/image$k.ppm"
done
printf '\211PNG\r\n\032\nnot really' >"$tmp/data/broken.png"
echo "notes" >"$tmp/data/readme.txt"

common="--data $tmp/data --preset tiny --size 16 --batch 2 --steps 6 -q"
expect 0 "train 6 steps" "$exe" train $common --checkpoint-every 2 \
  --preview-every 3 --work-dir "$tmp/w1" --out "$tmp/m1.safetensors"
check "unreadable files are warned about" "$tmp/err" "warning: .*broken.png"
[ -s "$tmp/m1.safetensors" ] || { echo "FAIL no model written"; failures=$((failures + 1)); }
[ -s "$tmp/w1/preview-000003.png" ] || { echo "FAIL no preview grid"; failures=$((failures + 1)); }
[ "$(wc -l <"$tmp/w1/loss.tsv")" -eq 6 ] || { echo "FAIL loss.tsv has not 6 lines"; failures=$((failures + 1)); }
expect 0 "info on the trained model" "$exe" info "$tmp/m1.safetensors"
check "the card records the run" "$tmp/out" "Trained with .gimp-diffusion train. on 3 images"
expect 0 "sample from the trained model" "$exe" sample -q \
  --model "$tmp/m1.safetensors" --steps 2 --out "$tmp/s.png"
# --resume with no steps left writes the model again from the checkpoint,
# without reading any data (--data names nothing here), with the same card
"$exe" info "$tmp/m1.safetensors" | grep "final loss" >"$tmp/card1"
expect 0 "resume a finished run: the model from the checkpoint" "$exe" train \
  --resume --steps 6 --data "$tmp/nothing" --work-dir "$tmp/w1" \
  --out "$tmp/m1c.safetensors"
expect 0 "info on that model" "$exe" info "$tmp/m1c.safetensors"
if grep "final loss" "$tmp/out" | cmp -s - "$tmp/card1" && [ -s "$tmp/card1" ]; then
  echo "ok   its card has the run's final loss: $(cat "$tmp/card1")"
else
  echo "FAIL the card's final loss differs:"; grep "final loss" "$tmp/out"
  failures=$((failures + 1))
fi

# a checkpoint write that fails (file size limit: a full disk) leaves the
# last good checkpoint whole and no temporary file behind
cp -r "$tmp/w1" "$tmp/wf"
cp "$tmp/wf/checkpoint.safetensors" "$tmp/good.safetensors"
expect 1 "a failing checkpoint write" sh -c "trap '' XFSZ; ulimit -f 64; exec \"\$0\" \"\$@\"" \
  "$exe" train --resume -q --steps 8 --work-dir "$tmp/wf" --out "$tmp/m1b.safetensors"
check "the failed write is reported" "$tmp/err" "error: .*checkpoint"
if cmp -s "$tmp/wf/checkpoint.safetensors" "$tmp/good.safetensors" &&
   [ "$(ls "$tmp/wf" | grep -cv -e '^checkpoint.safetensors$' -e '^loss.tsv$' -e '^preview-')" -eq 0 ]; then
  echo "ok   the last good checkpoint survived, no temporary file left"
else
  echo "FAIL after a failed write:"; ls -la "$tmp/wf"; failures=$((failures + 1))
fi
[ ! -e "$tmp/m1b.safetensors" ] || { echo "FAIL a failed run wrote a model"; failures=$((failures + 1)); }

# stopped after 3 steps, then resumed: the same losses, bit for bit
expect 0 "train, stop after 3" "$exe" train $common --stop-after 3 \
  --work-dir "$tmp/w2" --out "$tmp/m2.safetensors"
[ ! -e "$tmp/m2.safetensors" ] || { echo "FAIL a stopped run wrote the model"; failures=$((failures + 1)); }
# a kill mid-write leaves a line cut short ("1" of "1136\t..."); resuming
# drops it
printf '1' >>"$tmp/w2/loss.tsv"
expect 0 "resume" "$exe" train --resume -q --work-dir "$tmp/w2" \
  --out "$tmp/m2.safetensors"
if cmp -s "$tmp/w1/loss.tsv" "$tmp/w2/loss.tsv"; then
  echo "ok   resumed run: loss at every step identical to the uninterrupted run"
else
  echo "FAIL resumed run's losses differ:"; paste "$tmp/w1/loss.tsv" "$tmp/w2/loss.tsv"
  failures=$((failures + 1))
fi
# the same weights: the same sample (the cards differ in their times)
for k in 1 2; do
  "$exe" sample -q --model "$tmp/m$k.safetensors" --steps 2 --seed 3 \
    --out "$tmp/sample$k.png"
done
cmp -s "$tmp/sample1.png" "$tmp/sample2.png" &&
  echo "ok   the resumed run's model gives the same sample" ||
  { echo "FAIL the resumed run's model differs"; failures=$((failures + 1)); }

# killed (SIGKILL: no clean exit) after a checkpoint, then resumed: the
# loss log still has every step, none missing before the checkpoint's
"$exe" train $common --steps 60 --checkpoint-every 2 --work-dir "$tmp/wk" \
  --out "$tmp/mk.safetensors" 2>/dev/null &
pid=$!
waited=0
while [ ! -e "$tmp/wk/checkpoint.safetensors" ] && [ $waited -lt 600 ]; do
  sleep 0.1; waited=$((waited + 1))
done
sleep 0.3
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
# what a kill during a write leaves (temporary files of the checkpoint, the
# loss log, a preview) goes on the next start; other files stay
for name in checkpoint.safetensors.tmp-Ab12Cd .loss.tsv.tmp-x1Y2z3 \
            .preview-000002.png.tmp-QQ77qq notes.tmp-abcdef; do
  echo partial >"$tmp/wk/$name"
done
expect 0 "resume the killed run" "$exe" train --resume -q --work-dir "$tmp/wk" \
  --out "$tmp/mk.safetensors"
if [ "$(ls -A "$tmp/wk" | grep -c 'tmp-')" -eq 1 ] && [ -e "$tmp/wk/notes.tmp-abcdef" ]; then
  echo "ok   the killed run's temporary files are gone, others stay"
else
  echo "FAIL temporary files after a resume:"; ls -A "$tmp/wk"
  failures=$((failures + 1))
fi
if [ "$(cut -f1 "$tmp/wk/loss.tsv" | tr '\n' ' ')" = "$(seq 0 59 | tr '\n' ' ')" ]; then
  echo "ok   a killed run's loss log, resumed, has every step 0..59 once"
else
  echo "FAIL the killed run's loss log:"; cut -f1 "$tmp/wk/loss.tsv" | tr '\n' ' '
  failures=$((failures + 1))
fi

# a mask-conditioned model: trained, recognised, used with guidance
expect 0 "train a mask-conditioned model" "$exe" train $common --steps 2 \
  --conditioning mask --p-uncond 0.5 --work-dir "$tmp/wc" \
  --out "$tmp/mc.safetensors"
expect 0 "info on it" "$exe" info "$tmp/mc.safetensors"
check "info names the conditioning" "$tmp/out" "conditioning: mask"
check "its config has 7 input channels" "$tmp/out" "in_channels  *7"
{ printf 'P5\n24 24\n255\n'; for i in $(seq 1 576); do
    if [ $((i % 24)) -gt 8 ] && [ $((i / 24)) -gt 8 ] && [ $((i / 24)) -lt 16 ]
    then printf '\377'; else printf '\000'; fi; done; } >"$tmp/mask.pgm"
for w in 1 2; do
  expect 0 "inpaint with guidance $w" "$exe" inpaint -q -m "$tmp/mc.safetensors" \
    --image "$tmp/data/sub/image1.ppm" --mask "$tmp/mask.pgm" --steps 3 \
    --guidance-scale $w --out "$tmp/guided$w.png"
done
if cmp -s "$tmp/guided1.png" "$tmp/guided2.png"; then
  echo "FAIL guidance 2 gave the same fill as 1"; failures=$((failures + 1))
else
  echo "ok   guidance 2 changes the fill"
fi
expect 0 "sample from it (dropout mode)" "$exe" sample -q \
  --model "$tmp/mc.safetensors" --steps 2 --out "$tmp/sc.png"
expect 0 "guidance with an unconditional model" "$exe" inpaint -q \
  --model "$tmp/m1.safetensors" --image "$tmp/data/sub/image1.ppm" \
  --mask "$tmp/mask.pgm" --steps 2 --guidance-scale 3 --out "$tmp/su.png"
check "it is said to be ignored" "$tmp/err" "warning: --guidance-scale .* ignored"
expect 0 "sample with guidance (for Stable Diffusion)" "$exe" sample -q \
  --model "$tmp/mc.safetensors" --steps 2 --guidance-scale 3 --out "$tmp/su.png"
check "a pixel model's sample ignores it" "$tmp/err" \
  "warning: --guidance-scale .* ignored"
expect 2 "guidance out of range" "$exe" inpaint -q -m "$tmp/mc.safetensors" \
  --image "$tmp/data/sub/image1.ppm" --mask "$tmp/mask.pgm" \
  --guidance-scale 25 --out "$tmp/x.png"
check "the guidance range is named" "$tmp/err" \
  "guidance-scale 25 is out of range: it must be a number from 0 to 20"
expect 0 "fine-tune the unconditional model into a conditional one" \
  "$exe" train $common --steps 1 --init "$tmp/m1.safetensors" \
  --conditioning mask --work-dir "$tmp/wi" --out "$tmp/mi.safetensors"
expect 0 "info on it" "$exe" info "$tmp/mi.safetensors"
check "it is mask-conditioned" "$tmp/out" "conditioning: mask"
expect 2 "unknown conditioning" "$exe" train $common --conditioning text \
  --out "$tmp/x"
check "the conditioning kinds are named" "$tmp/err" "none or mask"

# Ctrl-C: saves the checkpoint and exits 130
"$exe" train $common --steps 100000 --checkpoint-every 0 --preview-every 0 \
  --work-dir "$tmp/w3" --out "$tmp/m3.safetensors" 2>"$tmp/err" &
interrupt $!
if [ "$status" -eq 130 ] && [ -s "$tmp/w3/checkpoint.safetensors" ] &&
   [ ! -e "$tmp/m3.safetensors" ]; then
  echo "ok   Ctrl-C saved the checkpoint and exited 130"
else
  echo "FAIL Ctrl-C: exit $status"; cat "$tmp/err"; failures=$((failures + 1))
fi

# bad input
mkdir "$tmp/empty"
expect 2 "no --data" "$exe" train --out "$tmp/x" --steps 2
check_one_error "no --data"
expect 2 "a folder without images" "$exe" train --data "$tmp/empty" \
  --out "$tmp/x" --steps 2 -q
check "no usable image is named" "$tmp/err" "no usable image"
expect 2 "unknown preset" "$exe" train --data "$tmp/data" --preset huge \
  --out "$tmp/x" --steps 2 -q
expect 2 "neither --steps nor --time" "$exe" train --data "$tmp/data" --out "$tmp/x"
expect 2 "resume without a checkpoint" "$exe" train --resume --work-dir "$tmp/none" \
  --out "$tmp/x"
[ ! -e "$tmp/x" ] || { echo "FAIL a failed run left a model"; failures=$((failures + 1)); }
# a batch no machine holds is refused before training, never an abort
expect 2 "a batch too large for memory" "$exe" train --data "$tmp/data" \
  --batch 4096 --size 1024 --steps 1 -q --work-dir "$tmp/wb" --out "$tmp/mb"
check_one_error "a batch too large for memory"
check "the memory needed is named" "$tmp/err" "needs at least [0-9.]+ GiB of memory"
# a loss log that cannot be written (here a folder in its place) is an
# error that names it, before any training
mkdir -p "$tmp/wl/loss.tsv"
expect 1 "an unwritable loss log" "$exe" train $common --work-dir "$tmp/wl" \
  --out "$tmp/ml.safetensors"
check "the loss log is named" "$tmp/err" "error: cannot write '$tmp/wl/loss.tsv': it is a folder"
[ ! -e "$tmp/ml.safetensors" ] || { echo "FAIL a run without a log wrote a model"; failures=$((failures + 1)); }

if [ -e "$tmp/x.work" ] || [ -e "$tmp/wb" ]; then
  echo "FAIL failed runs left the work folders they made"; failures=$((failures + 1))
else
  echo "ok   failed runs remove the empty work folders they made"
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
