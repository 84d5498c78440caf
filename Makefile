# Sluice. `make demo` runs the console on an embedded platform; `make test`
# runs every test. Only Go is needed; tests that drive a real terminal use tmux
# (installed by .ci/run on CI).
GO        ?= go
BIN       := bin/sluice
PKGS      := ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 10s

.PHONY: all build test bench lint fmt fuzz demo clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/sluice

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# Every fuzz target for FUZZTIME each. Seeds come from testdata/.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

demo: build
	$(BIN) demo

clean:
	rm -rf bin
