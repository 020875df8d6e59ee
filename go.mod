module github.com/troupe-go/troupe

go 1.25

require (
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/panjf2000/ants/v2 v2.12.1
	go.uber.org/goleak v1.3.0
)

require (
	golang.org/x/sync v0.11.0 // indirect; required by ants
)
