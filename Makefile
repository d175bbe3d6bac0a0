# Switchboard. `make test` is what CI runs (after .ci/run installs the peers).
GO ?= go
PKGS := ./...

.PHONY: all build test vet fmtcheck webcheck web unit e2e bench fuzz demo clean

all: build

build:
	$(GO) build -o bin/switchboard ./cmd/switchboard

# Everything: formatting, vet, the console's type check and build check,
# unit and end-to-end tests (browser tests included) with the race detector.
test: fmtcheck vet webcheck
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# The console's npm packages (type checking, the bundle's sources, browser tests).
web/node_modules: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

# Rebuild the console (web/dist is committed so running needs no Node).
web: web/node_modules
	$(GO) generate ./web

# The committed web/dist must be what the sources build; tsc must be clean.
webcheck: web/node_modules
	cd web && npx --no-install tsc --noEmit
	$(GO) generate ./web
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -n "$$(git status --porcelain -- web/dist)" ]; then \
	  echo "web/dist differs from what web/src builds: run 'make web' and commit web/dist"; git status --short -- web/dist; exit 1; fi

fmtcheck:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/e2e)

e2e:
	$(GO) test -race -count=1 -timeout 10m -v ./test/e2e/

bench:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v /test/e2e)

# Short run of every fuzz target (each FUZZTIME).
FUZZTIME ?= 15s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

demo:
	$(GO) run ./cmd/switchboard demo

clean:
	rm -rf bin
