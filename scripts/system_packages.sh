#!/usr/bin/env bash
# The Debian packages the app needs (packages.txt: Streamlit Community Cloud installs the same list) and, for
# `make test`, those the tests need (packages-dev.txt), each checked by what it provides; the missing ones are
# installed with apt-get (through sudo when not root), as .ci/run does on a fresh machine. Where that cannot work
# (no apt-get, not root and no sudo, the install failed) it prints one line naming what to install and exits 2,
# so `make run` starts no server.
#
#   scripts/system_packages.sh REQUIRED_LIST [OPTIONAL_LIST]
#
# A package of OPTIONAL_LIST that cannot be installed is a note, not a stop: the tests that need it skip
# (with CI=true it stops too, as those tests would fail).
set -uo pipefail

read_list() {  # one package a line; blank lines and # comments are allowed
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    line=${line//[[:space:]]/}
    [ -n "$line" ] && printf '%s\n' "$line"
  done <"$1"
}

have() {  # whether what the package provides is on this machine
  case "$1" in
    graphviz) command -v dot >/dev/null ;;  # `dot` lays out every graph the app draws
    fonts-noto-cjk)  # Chinese text in rendered graphs (SVG / PNG exports) and in the tests' Chromium
      [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] ||
        { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]; } ;;
    chromium) command -v chromium >/dev/null || [ -x /usr/bin/chromium ] ;;
    nginx) command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ;;
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
    *) command -v dpkg-query >/dev/null && [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ] ;;
  esac
}

missing_of() {
  local p
  for p in "$@"; do have "$p" || printf '%s\n' "$p"; done
}

# Tries to install the packages given; prints why not (one phrase) and fails where it cannot.
install() {
  local sudo=()
  if ! command -v apt-get >/dev/null; then
    echo "apt-get is not on this machine"
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "this user is not root and sudo is not on this machine"
      return 1
    fi
    sudo=(sudo)
  fi
  echo "installing $* with apt-get${sudo:+ (through sudo)}" >&2
  # nginx's and PostgreSQL's own services are not needed and may fail to start in a container: policy-rc.d
  # answering 101 tells the packages not to start them. Removed afterwards unless the machine had one already.
  local policy=""
  if [[ " $* " == *" nginx "* || " $* " == *" postgresql "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null &&
      "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d && policy=/usr/sbin/policy-rc.d
  fi
  local ok=0
  { "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; } >&2 || ok=1
  [ -n "$policy" ] && "${sudo[@]}" rm -f "$policy"
  if [ "$ok" != 0 ]; then
    echo "apt-get install failed (its output is above)"
    return 1
  fi
}

# Makes sure the packages of one list are here; prints one `error:` line and fails where they cannot be.
ensure() {
  local list=$1 kind=$2 why
  local -a packages missing
  mapfile -t packages < <(read_list "$list")
  mapfile -t missing < <(missing_of "${packages[@]}")
  [ ${#missing[@]} -eq 0 ] && return 0
  if why=$(install "${missing[@]}"); then
    mapfile -t missing < <(missing_of "${missing[@]}")
    [ ${#missing[@]} -eq 0 ] && return 0
    why="apt-get installed them but they are still not found (is /usr/bin on PATH?)"
  fi
  local what="${missing[*]}"
  if [ "$kind" = required ] || [ "${CI:-}" = true ]; then
    echo "error: missing $what ($list), which cannot be installed here: $why; install it (Debian or Ubuntu: sudo apt-get install -y $what; elsewhere the system's package manager) and run make again" >&2
    return 2
  fi
  echo "note: the tests that need $what ($list) will skip: $why (on Debian or Ubuntu: sudo apt-get install -y $what)" >&2
}

[ $# -ge 1 ] || { echo "usage: $0 REQUIRED_LIST [OPTIONAL_LIST]" >&2; exit 2; }
ensure "$1" required || exit 2
if [ $# -ge 2 ]; then ensure "$2" optional || exit 2; fi
