#!/bin/sh
# The CLI's files: an image write that fails (a full disk, simulated by the
# file size limit) keeps the old file and leaves no temporary file; odd
# output targets (folders, pipes, devices, links, unknown extensions) are
# refused or written through; images that claim more pixels than the budget
# (decompression bombs) are refused from their headers, before decoding; a
# symbolic link loop as a model is named as such.
# Usage: test-cli-files.sh PATH/TO/gimp-diffusion TESTS/DATA
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -u
exe=$1
data=$2
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dm-test-files-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/cli-lib.sh"

model=$data/tiny_attn
sample() { "$exe" sample -q --model "$model" --steps 1 --size 64x64 "$@"; }
# limited BLOCKS ARGUMENTS...: the CLI under a file size limit of BLOCKS (a
# full disk: writes past it fail with EFBIG; SIGXFSZ is left at its default,
# which the CLI must ignore itself).
limited() {
  blocks=$1
  shift
  sh -c 'ulimit -f "$0"; exec "$@"' "$blocks" "$exe" "$@"
}
full_args="sample -q --model $model --steps 1 --size 64x64"
# no_temporary NAME: nothing but the named files is left in $tmp/disk.
no_temporary() {
  left=$(ls -A "$tmp/disk" | grep -c '\.tmp-')
  if [ "$left" -eq 0 ]; then
    echo "ok   $1: no temporary file left"
  else
    echo "FAIL $1: temporary files left:"; ls -A "$tmp/disk"
    failures=$((failures + 1))
  fi
}
# same NAME A B: files A and B are equal.
same() {
  if cmp -s "$2" "$3"; then
    echo "ok   $1"
  else
    echo "FAIL $1"; failures=$((failures + 1))
  fi
}

# ---- a full disk: every format, sample and inpaint -------------------------
mkdir "$tmp/disk"
echo "the old file" >"$tmp/old"
for ext in png jpg tif webp ppm; do
  cp "$tmp/old" "$tmp/disk/image.$ext"
  expect 1 "sample to a full disk ($ext)" limited 1 $full_args --out "$tmp/disk/image.$ext"
  check_one_error "sample to a full disk ($ext)"
  check "the reason and the file are named ($ext)" "$tmp/err" \
    "'$tmp/disk/image.$ext': File too large"
  same "the old $ext file is intact" "$tmp/old" "$tmp/disk/image.$ext"
  no_temporary "full disk ($ext)"
done
# inpaint writes back over its own input: the input survives a full disk
printf 'P5\n64 64\n255\n' >"$tmp/mask.pgm"
head -c 4096 /dev/zero | tr '\0' '\377' >>"$tmp/mask.pgm"
expect 0 "sample an image to inpaint" sample --out "$tmp/disk/in.png"
cp "$tmp/disk/in.png" "$tmp/in.png"
expect 1 "inpaint onto a full disk" limited 1 inpaint -q --model \
  "$model" --steps 1 --image "$tmp/disk/in.png" --mask "$tmp/mask.pgm" \
  --out "$tmp/disk/in.png"
check "the reason is named" "$tmp/err" "File too large"
same "the image inpainted in place is intact" "$tmp/in.png" "$tmp/disk/in.png"
no_temporary "inpaint onto a full disk"
expect 0 "a file that fits is written" limited 2000 $full_args --out "$tmp/disk/fits.png"
check "it is a PNG" "$tmp/disk/fits.png" "PNG"
no_temporary "a successful write"

# ---- what --out may name ------------------------------------------------------
mkdir "$tmp/folder.png"
expect 2 "--out a folder" sample --out "$tmp/folder.png"
check "a folder is named as such" "$tmp/err" "'$tmp/folder.png': it is a folder"
mkfifo "$tmp/pipe.png"
expect 2 "--out a pipe" sample --out "$tmp/pipe.png"
check "a pipe is named as such" "$tmp/err" "it is a pipe"
[ -p "$tmp/pipe.png" ] && echo "ok   the pipe is still a pipe" ||
  { echo "FAIL the pipe was replaced"; failures=$((failures + 1)); }
if mknod "$tmp/device.png" c 1 3 2>/dev/null; then
  expect 2 "--out a device" sample --out "$tmp/device.png"
  check "a device is named as such" "$tmp/err" "it is a device"
  [ -c "$tmp/device.png" ] && echo "ok   the device is still a device" ||
    { echo "FAIL the device was replaced"; failures=$((failures + 1)); }
fi
# a link is written through: the link stays, its target is the new image
cp "$tmp/old" "$tmp/target.png"
ln -s target.png "$tmp/link.png"
expect 0 "--out a link" sample --out "$tmp/link.png"
if [ -L "$tmp/link.png" ] && grep -q PNG "$tmp/target.png"; then
  echo "ok   the link stays and its target is the new image"
else
  echo "FAIL the link:"; ls -la "$tmp/link.png" "$tmp/target.png"
  failures=$((failures + 1))
fi
ln -s missing.png "$tmp/dangling.png"
expect 2 "--out a link to nothing" sample --out "$tmp/dangling.png"
check "a dangling link is named as such" "$tmp/err" "link that leads to no file"
[ ! -e "$tmp/missing.png" ] || { echo "FAIL wrote through a dangling link"; failures=$((failures + 1)); }
# the format comes from the last component's extension, and must be one we
# write
mkdir "$tmp/a.d"
for out in a.d/out x.bmp x.gif noextension; do
  expect 2 "--out $out" sample --out "$tmp/$out"
  check_one_error "--out $out"
  check "--out $out lists the formats" "$tmp/err" "'$tmp/$out': .*png, jpg"
  [ ! -e "$tmp/$out" ] || { echo "FAIL --out $out wrote a file"; failures=$((failures + 1)); }
done
expect 0 "--out in a folder with a dot" sample --out "$tmp/a.d/out.PNG"
# a missing folder: the user's path and the real reason, no temporary name
expect 2 "--out in a missing folder" sample --out "$tmp/nowhere/out.png"
check "the missing folder is named" "$tmp/err" \
  "'$tmp/nowhere/out.png': the folder '$tmp/nowhere': No such file or directory"
if grep -q 'tmp-\|GEGL' "$tmp/err"; then
  echo "FAIL the message names a temporary file or GEGL"; failures=$((failures + 1))
fi

# ---- decompression bombs: refused from the header, fast, in little memory ----
# bomb KIND SIDE: a small file whose header claims a SIDE x SIDE image
# (PNG and JPEG with only a token of pixel data, PNM through GEGL)
bomb() {
  python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
kind, side = sys.argv[1], int(sys.argv[2])
def chunk(tag, data):
    return (struct.pack(">I", len(data)) + tag + data +
            struct.pack(">I", zlib.crc32(tag + data)))
if kind == "png":
    out = (b"\x89PNG\r\n\x1a\n" +
           chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(bytes(side + 1) * 4)))
elif kind == "jpg":
    dqt = b"\xff\xdb" + struct.pack(">HB", 67, 0) + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, side, side, 3) + \
        b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + \
        b"\x01\x00\x02\x00\x03\x00\x00\x3f\x00"
    out = b"\xff\xd8" + dqt + sof + sos + bytes(64) + b"\xff\xd9"
else:
    out = b"P5\n%d %d\n255\n" % (side, side) + bytes(64)
sys.stdout.buffer.write(out)
PY
}
# in_memory KB COMMAND...: COMMAND with at most KB of address space
in_memory() {
  kb=$1
  shift
  sh -c 'ulimit -v "$0"; exec "$@"' "$kb" "$@"
}
printf 'P6\n24 16\n255\n' >"$tmp/small.ppm"
head -c $((24 * 16 * 3)) /dev/zero >>"$tmp/small.ppm"
for kind in png jpg pnm; do
  bomb $kind 16384 >"$tmp/bomb.$kind"
  expect 2 "a $kind bomb as the image" in_memory 2000000 "$exe" inpaint -q \
    --model "$model" --steps 1 --image "$tmp/bomb.$kind" --mask "$tmp/small.ppm" \
    --out "$tmp/x.png"
  check_one_error "a $kind bomb"
  check "the $kind bomb is refused for its size" "$tmp/err" \
    "bomb.$kind': the image is 16384x16384, 268435456 pixels: more than the 67108864 allowed \(--max-pixels\)"
done
# sizes that differ are refused from the headers: the mask's pixel data
# (cut short here) is never decoded
bomb png 8000 >"$tmp/big-mask.png"
expect 2 "a mask of another size" "$exe" inpaint -q --model "$model" \
  --steps 1 --image "$tmp/small.ppm" --mask "$tmp/big-mask.png" --out "$tmp/x.png"
check "the sizes are compared before decoding" "$tmp/err" \
  "the mask is 8000x8000 but the image is 24x16"
expect 2 "--max-pixels below the image" "$exe" inpaint -q --model "$model" \
  --steps 1 --max-pixels 100 --image "$tmp/small.ppm" --mask "$tmp/small.ppm" \
  --out "$tmp/x.png"
check "--max-pixels is the budget" "$tmp/err" "384 pixels: more than the 100 allowed"
# a bomb in a training folder is skipped with a warning, the rest is used
mkdir "$tmp/data"
cp "$tmp/small.ppm" "$tmp/data/small.ppm"
cp "$tmp/bomb.png" "$tmp/data/bomb.png"
expect 0 "train beside a bomb" in_memory 2000000 "$exe" train -q \
  --data "$tmp/data" --size 16 --batch 1 --steps 1 --preview-every 0 \
  --work-dir "$tmp/work" --out "$tmp/m.safetensors"
check "the bomb is skipped for its size" "$tmp/err" \
  "warning: skipping .*bomb.png: the image is 16384x16384"

# ---- models ---------------------------------------------------------------------
ln -s loop "$tmp/loop"
expect 2 "a link loop as the model" "$exe" info "$tmp/loop"
check "the loop is named" "$tmp/err" "symbolic links"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
