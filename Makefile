# Waddle developer tasks.
#
#   make run              start PostgreSQL + Redis (scripts/services.sh), build,
#                         then `waddle setup` and `waddle serve`
#   make stop             stop PostgreSQL + Redis
#   make test             services, lint, check-generated, then go test -race
#   make bench            services, then the benchmarks
#   make build            build .data/bin/waddle
#   make generate         templ + sqlc code generation
#   make check-generated  fail if generating changes any generated file
#   make lint             gofmt + go vet
#   make check-helm       helm lint and helm template of deploy/helm/waddle
#   make image            build the container image into dist/waddle-image.tar
#                         (no Docker needed; IMAGE_ARCH=arm64 for arm64)
#
# Ports of the local services: WADDLE_PG_PORT (55432), WADDLE_REDIS_PORT (56379).
# `make run` takes its settings from the environment first, then from .env
# (see .env.example), then from the defaults of scripts/services.sh.

SHELL := /bin/bash
.SHELLFLAGS := -e -o pipefail -c
.DEFAULT_GOAL := build
export PATH := /usr/local/go/bin:$(PATH)

WADDLE_PG_PORT ?= 55432
WADDLE_REDIS_PORT ?= 56379
WADDLE_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(WADDLE_PG_PORT)/postgres?sslmode=disable
WADDLE_TEST_REDIS_URL ?= redis://127.0.0.1:$(WADDLE_REDIS_PORT)/0
WADDLE_CHROMIUM ?= /usr/bin/chromium
TEST_ENV = WADDLE_TEST_DATABASE_URL='$(WADDLE_TEST_DATABASE_URL)' \
	WADDLE_TEST_REDIS_URL='$(WADDLE_TEST_REDIS_URL)' \
	WADDLE_CHROMIUM='$(WADDLE_CHROMIUM)'

# Packages for test and bench, e.g. make test TEST_PKGS=./auth/...
TEST_PKGS ?= ./...
GO_TEST_FLAGS ?= -race -count=1 -timeout 30m

# Benchmarks for make bench: a -bench pattern and extra flags, e.g.
# make bench TEST_PKGS=./router BENCH=ChatCommand BENCH_FLAGS='-benchtime 5s'
BENCH ?= .
BENCH_FLAGS ?=

BIN := .data/bin/waddle

# Generated code: templ output and everything under db/ (sqlc).
GENERATED_PATHS := '*_templ.go' 'db/'
# Prints one line per generated path that differs from HEAD (changed,
# untracked or deleted), with a hash of its content.
generated_state = git ls-files -z -m -o -d --exclude-standard -- $(GENERATED_PATHS) | sort -zu | \
	xargs -0 -r bash -c 'for f; do if [ -e "$$f" ]; then sha1sum -- "$$f"; else echo "deleted $$f"; fi; done' _

.PHONY: run stop generate check-generated lint check-helm test bench bench-workflows build image

build:
	@mkdir -p $(dir $(BIN))
	go build -o $(BIN) ./cmd/waddle

# The image copies the build host's CA bundle: Debian's ca-certificates.
IMAGE_ARCH ?= amd64
image:
	scripts/services.sh ca-certificates
	go run ./deploy/image -o dist/waddle-image.tar -arch $(IMAGE_ARCH)

run: build
	@orig_env="$$(export -p)"; \
	if [ -f .env ]; then set -a; . ./.env; set +a; eval "$$orig_env"; fi; \
	scripts/services.sh start; \
	while read -r _ kv; do \
		k="$${kv%%=*}"; [ -n "$${!k:-}" ] || eval "export $$kv"; \
	done < <(scripts/services.sh env); \
	export BASE_URL="$${BASE_URL:-http://127.0.0.1:8080}" LISTEN_ADDR="$${LISTEN_ADDR:-127.0.0.1:8080}"; \
	if [ -z "$${TOKEN_ENCRYPTION_KEY:-}" ]; then \
		[ -s .data/token-key ] || (umask 077; head -c 32 /dev/urandom | base64 > .data/token-key); \
		export TOKEN_ENCRYPTION_KEY="$$(cat .data/token-key)"; \
	fi; \
	echo "waddle: DATABASE_URL=$$DATABASE_URL REDIS_URL=$$REDIS_URL BASE_URL=$$BASE_URL LISTEN_ADDR=$$LISTEN_ADDR"; \
	$(BIN) setup; \
	exec $(BIN) serve

stop:
	scripts/services.sh stop

generate:
	go tool templ generate
	go tool sqlc generate

# Generating must not change anything: compares the generated files before and
# after `make generate`, so a tree with uncommitted but up-to-date generated
# code passes, and a clean checkout (CI) fails on anything generation changes.
check-generated:
	@before="$$($(generated_state))"; \
	$(MAKE) --no-print-directory generate; \
	after="$$($(generated_state))"; \
	if [ "$$before" != "$$after" ]; then \
		echo "generated code is out of date: run make generate and commit" >&2; \
		echo "files changed by generation:" >&2; \
		diff <(echo "$$before") <(echo "$$after") | sed -n '/^[<>] ./s/^[<>] \([0-9a-f]\{40\}  \|deleted \)\{0,1\}/    /p' | sort -u >&2; \
		exit 1; \
	fi

lint:
	@unformatted="$$(find . \( -name .data -o -name .git -o -name node_modules \) -prune \
		-o -name '*.go' -type f -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$unformatted" ]; then \
		echo "these files are not gofmt-formatted (run gofmt -w on them):" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi
	go vet ./...
	go tool staticcheck ./...

# The Helm chart: lint it, then render it as the least install (an existing
# Secret) and with every option on; deploy/helm_test.go checks the manifests.
# `go tool -n helm` builds the tool once and names it: each `go tool helm`
# would spend seconds checking the build again.
HELM_CHART := deploy/helm/waddle
check-helm:
	@helm="$$(go tool -n helm)"; \
	for v in minimal full; do \
		"$$helm" lint --strict --quiet $(HELM_CHART) -f $(HELM_CHART)/ci/$$v-values.yaml; \
		"$$helm" template waddle $(HELM_CHART) -f $(HELM_CHART)/ci/$$v-values.yaml > /dev/null; \
	done

# The test output comes last, so gotestsum's closing DONE line (tests and failures counted) ends the log.
test:
	WITH_CHROMIUM=1 scripts/services.sh start
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory check-generated
	@$(MAKE) --no-print-directory check-helm
	$(TEST_ENV) go tool gotestsum --format pkgname-and-test-fails --format-hide-empty-pkg -- $(GO_TEST_FLAGS) $(TEST_PKGS)

# The workflow webhooks beside Node-RED (README, Benchmarks).
bench-workflows:
	scripts/bench-workflows.sh $(BENCH_FLAGS)

bench:
	scripts/services.sh start
	$(TEST_ENV) go test -run '^$$' -bench '$(BENCH)' -benchmem $(BENCH_FLAGS) $(TEST_PKGS)
