package main

// The systems, as named in the benchmarks.
const (
	troupe = "troupe"
	raw    = "raw"
	proto  = "protoactor"
	direct = "direct" // a reference run of troupe itself (pool call vs direct call)
)

// row is one line of the table: a workload's metric and troupe's targets
// on it.
type row struct {
	label string // as printed
	work  string // benchmark name without "Benchmark"
	unit  string // the time (or size) metric: ns/op, ns/msg, B/actor, B/timer
	// perOp divides allocs/op into allocations per message, for workloads
	// whose op is many messages; 0 means no allocation column.
	perOp   float64
	targets []target
}

// target is one of troupe's goals on a row: a ratio to a peer (peer set),
// or an absolute bound on the metric or on allocations.
type target struct {
	peer      string  // ratio of troupe to this peer ≤ max
	max       float64 // the bound
	allocs    bool    // bound on allocations per op (or per message)
	absolute  bool    // bound on the metric itself
	issueGoal bool    // from the issue, not just the design document
}

// rows are the table's lines, in order. The targets are issue 7's (and
// those DESIGN.md adds, ratios to raw Go).
var rows = []row{
	{label: "oneway 1→1", work: "Oneway1to1", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.5, issueGoal: true}, {allocs: true, max: 0, issueGoal: true}, {peer: raw, max: 2}}},
	{label: "oneway 8→1", work: "Oneway8to1", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.5, issueGoal: true}}},
	{label: "oneway 64→1", work: "Oneway64to1", unit: "ns/op", perOp: 1},
	// Issue 18: small values sent by value, a new one per message.
	{label: "oneway 1→1, value", work: "OnewayValue1to1", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.35, issueGoal: true}, {allocs: true, max: 0, issueGoal: true}}},
	{label: "oneway 8→1, value", work: "OnewayValue8to1", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.3, issueGoal: true}}},
	{label: "oneway 64→1, value", work: "OnewayValue64to1", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.3, issueGoal: true}}},
	{label: "call (timeout)", work: "Call", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.2, issueGoal: true}, {allocs: true, max: 2, issueGoal: true}, {peer: raw, max: 3}}},
	{label: "call (ctx deadline)", work: "CallCtx", unit: "ns/op", perOp: 1},
	{label: "spawn+stop", work: "SpawnStop", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.25, issueGoal: true}}},
	{label: "idle actor", work: "IdleActor", unit: "B/actor", targets: []target{
		{absolute: true, max: 256, issueGoal: true}}},
	{label: "idle actor after one call", work: "IdleActorAfterCall", unit: "B/actor", targets: []target{
		{absolute: true, max: 256, issueGoal: true}}},
	{label: "fan-out 10k×100", work: "FanOut", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.3, issueGoal: true}}},
	{label: "fan-out 10k×100, value", work: "FanOutValue", unit: "ns/op", perOp: 1, targets: []target{
		{peer: proto, max: 0.2, issueGoal: true}}},
	{label: "timer add+stop, 1M pending", work: "TimerAddStop", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 0.3, issueGoal: true}}},
	{label: "pending timer", work: "TimerAddStop", unit: "B/timer", targets: []target{
		{absolute: true, max: 64, issueGoal: true}}},
	{label: "timer start+stop (embedded), 1M pending", work: "TimerStartStop", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 0.3, issueGoal: true}}},
	{label: "timer schedule+stop (pooled), 1M pending", work: "TimerScheduleStop", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 0.3, issueGoal: true}}},
	{label: "pending pooled timer", work: "TimerScheduleStop", unit: "B/timer", targets: []target{
		{absolute: true, max: 64, issueGoal: true}}},
	// Issue 18's timers that stay pending: each op adds one more, none
	// stopped or fired, so nothing can be recycled (1M to 2M pending).
	{label: "timer add, 1M+ pending, nothing recyclable", work: "TimerAddPending", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 0.35, issueGoal: true}}},
	{label: "pending timer, nothing recyclable", work: "TimerAddPending", unit: "B/timer", targets: []target{
		{absolute: true, max: 48, issueGoal: true}}},
	{label: "timer schedule, 1M+ pending, nothing recyclable", work: "TimerSchedulePending", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 0.35, issueGoal: true}}},
	{label: "pending pooled timer, nothing recyclable", work: "TimerSchedulePending", unit: "B/timer", targets: []target{
		{absolute: true, max: 64, issueGoal: true}}},
	// The floor under arming a timer (raw only): a clock read and a lock
	// taken and released, nothing else. See BenchmarkTimerFloor.
	{label: "timer arm floor: clock read + lock and unlock", work: "TimerFloor", unit: "ns/op", perOp: 1},
	{label: "whitelist 100k held+100k admitted", work: "Whitelist", unit: "ns/msg", perOp: 200_000},
	// Issue 13's pools. "direct" is BenchmarkPoolCall/direct: the same
	// call to one actor, without the pool.
	{label: "pool call round robin, 8 workers", work: "PoolCall", unit: "ns/op", perOp: 1, targets: []target{
		{peer: direct, max: 1.2, issueGoal: true}, {peer: proto, max: 0.5, issueGoal: true}}},
	{label: "uneven jobs 8 workers: balancing", work: "PoolUnevenBalancing", unit: "x-ideal", targets: []target{
		{absolute: true, max: 1.15, issueGoal: true}}},
	{label: "uneven jobs 8 workers: least busy", work: "PoolUnevenLeastBusy", unit: "x-ideal", targets: []target{
		{absolute: true, max: 1.15, issueGoal: true}}},
	{label: "uneven jobs 8 workers: round robin", work: "PoolUnevenRoundRobin", unit: "x-ideal"},
	// Issue 12's streams: one op is one item.
	{label: "stream 1→1", work: "Stream1to1", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 0.25, issueGoal: true}, {allocs: true, max: 0, issueGoal: true}}},
	// The floor under a stream Send (raw only): a lock taken and a tail
	// published per item, nothing else. See BenchmarkStreamFloor.
	{label: "stream Send floor: CAS + atomic store per item", work: "StreamFloor", unit: "ns/op", perOp: 1},
	{label: "stream 1000 readers", work: "Stream1000Readers", unit: "ns/op", perOp: 1},
	{label: "stream reader", work: "Stream1000Readers", unit: "B/reader"},
	// Issue 16's serving: one op is one line echoed (ping-pong); the
	// target is a throughput ratio of 0.8, so a time ratio of 1.25.
	{label: "echo, 1 connection", work: "Echo1", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 1.25, issueGoal: true}}},
	{label: "echo, 100 connections", work: "Echo100", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 1.25, issueGoal: true}}},
	{label: "echo, 2,000 connections", work: "Echo2000", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 1.25, issueGoal: true}}},
	// Issue 16's goal for an idle connection is raw Go's + 1 KiB; raw's
	// is ~5.7 KB (a goroutine and a 4 KiB bufio.Reader), so ≤ 1.18×.
	{label: "idle connection", work: "IdleConn", unit: "B/conn", targets: []target{
		{peer: raw, max: 1.18, issueGoal: true}}},
	{label: "HTTP method, 64 clients", work: "HTTPMethod", unit: "ns/op", perOp: 1, targets: []target{
		{peer: raw, max: 1.1, issueGoal: true}}},
	// Issue 14's jobs: troupe only (River and asynq need a database round trip).
	{label: "job submit→run→result", work: "JobSubmitResult", unit: "ns/op", perOp: 1, targets: []target{
		{absolute: true, max: 5000, issueGoal: true}}},
	{label: "100k jobs, 64 submitters, queue of 8", work: "JobThroughput", unit: "ns/job", perOp: 100_000, targets: []target{
		{absolute: true, max: 5000, issueGoal: true}}}, // ≥ 200k jobs/s
	{label: "retained finished job", work: "JobRetained", unit: "B/job", targets: []target{
		{absolute: true, max: 1024, issueGoal: true}}},
	{label: "job follow over HTTP, 100 readers", work: "JobFollowHTTP", unit: "items/s"},
	// Issue 15's remote calls (the remote module's benchmarks, which
	// run.sh runs too); "raw" is bare nats.go with the same payload and
	// JSON codec, on the embedded server.
	{label: "remote call, in-process NATS (raw: bare nats.go)", work: "RemoteCall", unit: "ns/op", perOp: 1},
	// The same two, interleaved call by call so that a noisy machine
	// slows both alike: the ratio the target is about.
	{label: "remote call ÷ bare nats.go, interleaved", work: "RemoteCallRatio", unit: "ratio", targets: []target{
		{absolute: true, max: 1.3, issueGoal: true}}},
	{label: "remote call, TCP loopback (raw: bare nats.go)", work: "RemoteCallTCP", unit: "ns/op", perOp: 1},
	{label: "remote cast, TCP loopback, 1 sender", work: "RemoteCast", unit: "msg/s"},
	{label: "remote stream, in-process NATS", work: "RemoteStream", unit: "items/s"},
	{label: "remote stream, TCP loopback", work: "RemoteStreamTCP", unit: "items/s"},
	// Issue 17's jobs on JetStream (remote/jetjobs), on an embedded server.
	{label: "JetStream job: submit → run on another node → result", work: "JetJobSubmitResult", unit: "ns/op", perOp: 1, targets: []target{
		{absolute: true, max: 500_000, issueGoal: true}}},
	{label: "10k JetStream jobs, 3 nodes, concurrency 8", work: "JetJobQueue10k", unit: "jobs/s"},
	{label: "JetStream job output followed from another node", work: "JetJobFollow", unit: "items/s"},
}
