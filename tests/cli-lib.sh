# Shared by the CLI test scripts (sourced): expect, check, check_one_error.
# The sourcing script sets $tmp (a scratch folder) and failures=0.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.

# expect STATUS NAME COMMAND...: runs COMMAND, keeps stdout/stderr in $tmp.
expect() {
  want=$1 name=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  if [ "$got" -eq "$want" ]; then
    echo "ok   $name (exit $got)"
  else
    echo "FAIL $name: exit $got, want $want"
    sed 's/^/     | /' "$tmp/err"
    failures=$((failures + 1))
  fi
}

# check NAME FILE PATTERN: FILE must contain PATTERN (grep -E).
check() {
  if grep -Eq -- "$3" "$2"; then
    echo "ok   $1"
  else
    echo "FAIL $1: no /$3/ in:"
    sed 's/^/     | /' "$2"
    failures=$((failures + 1))
  fi
}

# check_one_error NAME: stderr is exactly one "gimp-diffusion: error:" line.
check_one_error() {
  if [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q '^gimp-diffusion: error: ' "$tmp/err"; then
    echo "ok   $1: $(cat "$tmp/err")"
  else
    echo "FAIL $1: stderr is not one error line:"
    sed 's/^/     | /' "$tmp/err"
    failures=$((failures + 1))
  fi
}

# interrupt PID: Ctrl-C for a background command, repeated every second
# until it ends (a background job starts with SIGINT ignored until the
# program installs its handler, which a loaded machine can delay), at most
# 60 times; then waits and sets $status to its exit status.
interrupt() {
  tries=0
  sleep 1
  while kill -INT "$1" 2>/dev/null && [ "$tries" -lt 60 ]; do
    tries=$((tries + 1))
    sleep 1
  done
  wait "$1"
  status=$?
}
