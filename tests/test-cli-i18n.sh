#!/bin/sh
# The CLI in the user's language: with LANGUAGE=zh_CN its errors, warnings
# and help come from the build tree's catalogues (DM_LOCALEDIR); LANGUAGE
# picks German over the zh_CN locale. Run through run-in-locale.sh.
# Usage: test-cli-i18n.sh GIMP_DIFFUSION LOCALEDIR
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
set -u
cli=$1
export DM_LOCALEDIR=$2 LANGUAGE=zh_CN
failures=0

# check NAME EXPECTED GOT
check() {
  if [ "$3" = "$2" ]; then
    echo "ok   $1"
  else
    printf 'FAIL %s\n  expected: %s\n  got:      %s\n' "$1" "$2" "$3"
    failures=$((failures + 1))
  fi
}

# contains NAME TEXT NEEDLE
contains() {
  case $2 in
    *"$3"*) echo "ok   $1" ;;
    *) printf 'FAIL %s: no "%s" in\n%s\n' "$1" "$3" "$2"
       failures=$((failures + 1)) ;;
  esac
}

out=$("$cli" frobnicate 2>&1)
check 'unknown command, exit status' 2 $?
check 'unknown command' \
  'gimp-diffusion: 错误: 未知命令“frobnicate”（参见“gimp-diffusion --help”）' "$out"
check 'missing argument' \
  'gimp-diffusion: 错误: info：需要一个 MODEL，但得到 0 个参数（参见“gimp-diffusion info --help”）' \
  "$("$cli" info 2>&1)"
contains 'a model that does not load' "$("$cli" info /nonexistent 2>&1)" \
  'gimp-diffusion: 错误: '
help=$("$cli" --help)
contains 'help: usage' "$help" '用法：gimp-diffusion [--help] [--version] 命令 [选项] 参数'
contains 'help: commands' "$help" '  sample     从噪声生成图像'
help=$("$cli" sample --help)
contains 'command help (GOption)' "$help" '采样步数：越多越慢'
contains 'command help: range and default' "$help" '（1 到 100000；默认 50）'
check 'LANGUAGE=de over the zh_CN locale' \
  'gimp-diffusion: Fehler: unbekannter Befehl »frobnicate« (siehe »gimp-diffusion --help«)' \
  "$(LANGUAGE=de "$cli" frobnicate 2>&1)"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
