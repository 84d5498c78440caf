# Sluice. `make demo` runs the console on an embedded platform; `make test`
# runs every test. `make demo` needs only Go; `make test` also needs what
# README's Prerequisites list (a C compiler for -race, git, tmux) and names
# what is missing (the prereq target); .ci/run installs them on CI, with
# PostgreSQL for the shared-store tests.
GO        ?= go
BIN       := bin/sluice
PKGS      := ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 10s

.PHONY: all build test bench lint fmt fuzz demo clean prereq

all: build

build:
	$(GO) build -o $(BIN) ./cmd/sluice

# What `make test` needs, checked up front so a missing tool is named plainly
# instead of failing deep inside a test. See README "Prerequisites".
GO_MIN := 1.26
prereq:
	@missing=; \
	command -v $(GO) >/dev/null 2>&1 || missing="$$missing\n  - Go $(GO_MIN) or newer (https://go.dev/dl)"; \
	if command -v $(GO) >/dev/null 2>&1; then \
	  v=$$($(GO) env GOVERSION | sed 's/^go//'); \
	  if [ "$$(printf '%s\n%s\n' $(GO_MIN) "$$v" | sort -V | head -n1)" != "$(GO_MIN)" ]; then \
	    missing="$$missing\n  - Go $(GO_MIN) or newer (found $$v)"; fi; fi; \
	command -v $${CC:-cc} >/dev/null 2>&1 || missing="$$missing\n  - a C compiler for go test -race (apt-get install gcc)"; \
	command -v git >/dev/null 2>&1 || missing="$$missing\n  - git (apt-get install git)"; \
	command -v tmux >/dev/null 2>&1 || missing="$$missing\n  - tmux, for the console end-to-end tests (apt-get install tmux)"; \
	if [ -n "$$missing" ]; then printf "make test needs:$$missing\n(.ci/run installs them on CI)\n" >&2; exit 1; fi

test: prereq
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
