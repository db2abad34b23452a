// Command loadgen is the benchmarks' load generator: heartbeat streams and registrations at a
// scale one Python process cannot drive on a 2-core machine, so the server is what gets measured.
//
//	loadgen beat [flags] ADDRESS registry|etcd|echo FIRST COUNT INTERVAL SECONDS
//	loadgen register [flags] ADDRESS registry|etcd|echo CONCURRENCY SECONDS FIRST
//
// `beat` holds COUNT streams beating once per INTERVAL seconds (instances bench-FIRST ...):
// `registry` registers each instance (heartbeat policy: INTERVAL, timeout ten intervals) and binds
// one Heartbeat stream each (take_over) with beats carrying a sequence and a send time; `etcd`
// grants one lease per instance (TTL ten intervals) and keeps it alive on its own LeaseKeepAlive
// stream; `echo` sends the same messages on bare bidi echo streams (bench/echo_server.py), the
// floor. Registrations (or lease grants) run -opening at a time and each instance's stream opens
// as soon as its registration is done, so the time to open is the server's. Each stream starts
// at a random phase of the interval; slots missed while a send waited are skipped, not made up
// in a burst; a failed stream reconnects after a random 0-1 s (binding with take_over).
//
// `register` runs CONCURRENCY callers registering distinct instances (bench-FIRST, FIRST+1, ...)
// for SECONDS: `registry` calls Register, `echo` sends the same serialized RegisterRequest to the
// echo server's unary method (the floor), `etcd` Puts the same bytes under bench/<instance>.
//
// Protocol with the driver (bench/heartbeats.py, bench/registrations.py), one line each on
// stdout: `ready N SECONDS` once every stream had its first answer (or, for `register`, once the
// callers are connected and warmed up); then, after the driver writes a line to stdin, the
// generator measures for SECONDS and prints one JSON line: for `beat` `acks`, `p50`, `p99` (ms),
// `binds`, and since the start `failed` (streams that ended in an error and were reopened) and
// `retried` (registrations or grants refused and retried), after which it keeps beating until killed; for `register` `count`, `elapsed`,
// `p50`, `p99`, `busy` (retried UNAVAILABLE answers), after which it exits.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen beat [flags] ADDRESS registry|etcd|echo FIRST COUNT INTERVAL SECONDS")
	fmt.Fprintln(os.Stderr, "       loadgen register [flags] ADDRESS registry|etcd|echo CONCURRENCY SECONDS FIRST")
	os.Exit(2)
}

func main() {
	if os.Getenv("GOGC") == "" {
		// The heap is mostly goroutine stacks that live for the whole run: collect less often.
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// One thread runs the Go code: on a 2-core machine the other core stays the server's, and
		// no CPU goes to waking idle threads for every message (measured: a third less CPU per
		// stream opened at 10,000 streams). Syscalls still run beside it.
		runtime.GOMAXPROCS(1)
	}
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "beat":
		beatMain(os.Args[2:])
	case "register":
		registerMain(os.Args[2:])
	default:
		usage()
	}
}

// fail reports a fatal error on stderr and exits 1 (the driver sees no `ready` line).
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(1)
}

// waitForGo blocks until the driver writes a line (or closes stdin).
func waitForGo() {
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
