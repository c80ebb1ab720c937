#!/usr/bin/env bash
# Runs every test: go vet, the whole suite, and the race detector over the
# kernel and the ratchet bindings. Installs missing test peers first (root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PATH:/usr/sbin:/sbin"
test -z "$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
go vet ./...
go test -count=1 -timeout 20m ./...
go test -count=1 -race -timeout 20m ./kernel/... ./luamod/ratchet/...
