# troupe — see README.md. Every target works on a fresh machine with only Go.
GO      ?= go
BENCH   ?= .
COUNT   ?= 1
BENCHTIME ?= 1s

.PHONY: test vet demo demo-jobs bench bench-remote cover lint fuzz

## test: vet every module; test the bench module (compiles the benchmarks, runs the
## table tool's tests; benchmarks run only with `make bench`); race-test the core, the
## examples and the remote module (against an embedded nats-server: no service needed).
test: vet
	cd bench && $(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./...
	cd remote && $(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	cd remote && $(GO) vet ./...

## demo: run the main example end to end.
demo:
	$(GO) run ./examples/bank

## demo-jobs: harp's dispatcher on troupe: queues, watchdogs, cancel, followed output, results by id;
## then two nodes sharing their jobs on JetStream (embedded server): submit on one, run on the other.
demo-jobs:
	$(GO) run ./examples/jobs
	cd remote && $(GO) run ./jetjobs/example

## bench: the peer comparison (troupe vs raw Go vs protoactor-go). COUNT=5 for a full run (five rounds of every benchmark).
bench:
	cd bench && ./run.sh "$(BENCH)" "$(COUNT)" "$(BENCHTIME)"

## bench-remote: remote Call vs bare nats.go, Cast msg/s, stream items/s.
bench-remote:
	cd remote && $(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -count $(COUNT) ./

## cover: race tests with a coverage profile.
cover:
	$(GO) test -race -count=1 -coverprofile=cover.out ./...
	$(GO) tool cover -func=cover.out | tail -1

## lint: formatting and vet.
lint: vet
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## fuzz: a short run of each fuzz target.
fuzz:
	$(GO) test -run '^$$' -fuzz='^FuzzMailbox$$' -fuzztime=30s ./mailbox/
	$(GO) test -run '^$$' -fuzz='^FuzzSlotArithmetic$$' -fuzztime=30s ./timer/
	$(GO) test -run '^$$' -fuzz='^FuzzJournal$$' -fuzztime=30s ./actor/
	$(GO) test -run '^$$' -fuzz='^FuzzDefine$$' -fuzztime=30s ./fsm/
	$(GO) test -run '^$$' -fuzz='^FuzzLines$$' -fuzztime=30s ./serve/
	cd remote && $(GO) test -run '^$$' -fuzz='^FuzzCodec$$' -fuzztime=30s ./jetjobs/
