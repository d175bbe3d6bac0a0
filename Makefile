# Switchboard. `make test` is what CI runs (after .ci/run installs the peers).
GO ?= go
PKGS := ./...

.PHONY: all build test vet fmtcheck unit e2e bench fuzz demo clean

all: build

build:
	$(GO) build -o bin/switchboard ./cmd/switchboard

# Everything: formatting, vet, unit and end-to-end tests with the race detector.
test: fmtcheck vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

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
