#!/usr/bin/env bash
source ./lib.sh
. ./env.sh

# Deploys.
deploy() {
  if [ -n "$1" ] && [ -f "$1" ]; then
    for f in *.yaml; do kubectl apply -f "$f"; done
  fi
  case "$2" in
    prod) echo prod ;;
    *) echo other ;;
  esac
}
