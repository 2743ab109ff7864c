#!/bin/sh
# Runs COMMAND with LC_ALL=LOCALE (e.g. zh_CN.UTF-8): glibc ignores LANGUAGE,
# and so every message catalogue, in the C locales (C.UTF-8 included since
# glibc 2.41), so the i18n tests need a real locale. The installed one if
# there is one, else one compiled with localedef into a temporary LOCPATH
# (needs the locale sources: Debian's `locales` package). Exits 77 (skipped)
# when neither can be had.
# Usage: run-in-locale.sh LOCALE COMMAND [ARGUMENTS...]
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -eu
locale=$1
shift
# "zh_CN.UTF-8" and "zh_CN.utf8" name the same locale.
normal() { tr 'A-Z' 'a-z' | sed 's/utf-8/utf8/'; }
if ! locale -a 2>/dev/null | normal | grep -qx "$(echo "$locale" | normal)"; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT INT TERM
  if ! localedef -i "${locale%%.*}" -f UTF-8 "$tmp/$locale" >/dev/null 2>&1 &&
     [ ! -e "$tmp/$locale/LC_MESSAGES" ]; then
    echo "SKIP: no $locale locale, and localedef cannot make one"
    exit 77
  fi
  export LOCPATH="$tmp"
fi
status=0
LC_ALL=$locale "$@" || status=$?
exit "$status"
