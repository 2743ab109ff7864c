#!/bin/sh
# Runs a Python-Fu test script in GIMP 3 batch mode with the plug-in under
# test installed in a fresh, temporary GIMP profile. GIMP runs with its
# user interface on a virtual X server (xvfb-run), so that the script can
# also act in GIMP's windows as a user would (xdotool).
# Usage: test-gimp.sh PLUGIN_EXE SCRIPT.py DATA_DIR
# The script gets DM_TEST_DATA and DM_TEST_TMP, and must write "PASS" to
# $DM_TEST_TMP/result when every check passed. GIMP is stopped after
# DM_GIMP_TIMEOUT seconds (default 600). DM_TEST_LOCALEDIR, when set, is a
# locale folder with the plug-in's catalogues. With DM_GIMP_QUIET=1 a run
# that passes shows only the script's own lines (those starting with
# "demo:"), not GIMP's; a failing run always shows everything.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -eu
plugin=$1 script=$2 data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# A fresh profile, caches and data folders, so nothing of a user's GIMP
# (or of an earlier run) is read.
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" \
  XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" \
  GIMP3_DIRECTORY="$tmp/profile" DM_TEST_DATA="$data" DM_TEST_TMP="$tmp"
name=$(basename "$plugin")
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" \
  "$GIMP3_DIRECTORY/plug-ins/$name"
# GIMP runs plug-ins from <plug-in path>/<name>/<name>; the profile's
# plug-ins folder is on the default path. A link, so that the binary finds
# libdmcore through its $ORIGIN run path.
ln -s "$(readlink -f "$plugin")" "$GIMP3_DIRECTORY/plug-ins/$name/$name"
# Its catalogues, which GIMP reads from locale/ in the plug-in's folder.
if [ -n "${DM_TEST_LOCALEDIR:-}" ]; then
  ln -s "$DM_TEST_LOCALEDIR" "$GIMP3_DIRECTORY/plug-ins/$name/locale"
fi

status=0
timeout "${DM_GIMP_TIMEOUT:-600}" \
  xvfb-run -a -s '-screen 0 1280x1024x24' \
  gimp-3.0 --no-splash --no-fonts --no-data --quit \
  --batch-interpreter=python-fu-eval \
  -b "exec(open('$script').read())" >"$tmp/log" 2>&1 || status=$?
passed=false
[ "$status" -eq 0 ] && [ "$(cat "$tmp/result" 2>/dev/null)" = PASS ] &&
  passed=true
if [ "${DM_GIMP_QUIET:-0}" = 1 ] && $passed; then
  grep '^demo:' "$tmp/log" || true
else
  cat "$tmp/log"
fi
if [ "$status" -ne 0 ]; then
  echo "FAIL GIMP exited with status $status"
  exit 1
fi
if ! $passed; then
  echo "FAIL the test script did not report PASS"
  exit 1
fi
