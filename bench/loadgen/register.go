package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	registryv1 "registry.local/generated/go/registry/v1"
)

// registerMain measures how many distinct registrations per second a target takes from
// CONCURRENCY callers, each waiting for its answer before the next call (the floor and etcd get
// the same serialized RegisterRequest as raw bytes).
func registerMain(args []string) {
	flags := flag.NewFlagSet("register", flag.ExitOnError)
	perConn := flags.Int("calls-per-connection", 64, "callers sharing one HTTP/2 connection")
	interval := flags.Duration("interval", time.Minute, "the heartbeat policy's interval (timeout: ten intervals); "+
		"the instances never beat, so it outlasts the run")
	_ = flags.Parse(args)
	if flags.NArg() != 5 {
		usage()
	}
	a := flags.Args()
	target := a[1]
	concurrency, err1 := strconv.Atoi(a[2])
	seconds, err2 := strconv.ParseFloat(a[3], 64)
	first, err3 := strconv.Atoi(a[4])
	if err1 != nil || err2 != nil || err3 != nil || concurrency < 1 {
		usage()
	}
	policy := &registryv1.HeartbeatPolicy{
		Interval: durationpb.New(*interval), Timeout: durationpb.New(10 * *interval), MaxFailures: 3,
	}
	var conns []*grpc.ClientConn
	for range (concurrency + *perConn - 1) / *perConn {
		conn, err := dial(a[0])
		if err != nil {
			fail("%v", err)
		}
		conns = append(conns, conn)
	}
	var next atomic.Int64
	next.Store(int64(first))
	var busy atomic.Int64
	call := func(conn *grpc.ClientConn) error {
		n := int(next.Add(1) - 1)
		request := registerRequest(n, policy)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		switch target {
		case "registry":
			_, err := registryv1.NewRegistryServiceClient(conn).Register(ctx, request)
			return err
		case "echo", "etcd":
			body, err := proto.Marshal(request)
			if err != nil {
				return err
			}
			method := echoUnary
			if target == "etcd" {
				method, body = kvPut, putRequest([]byte("bench/"+request.Instance.InstanceId), body)
			}
			var reply []byte
			return conn.Invoke(ctx, method, &body, &reply, raw)
		}
		usage()
		return nil
	}
	// One call: retried while admission control refuses it; its latency spans the retries.
	one := func(conn *grpc.ClientConn) {
		wait := 20 * time.Millisecond
		for {
			err := call(conn)
			if err == nil {
				return
			}
			if !refused(err) {
				fail("%v", err)
			}
			busy.Add(1)
			time.Sleep(wait/2 + jitter(wait))
			wait = min(2*wait, time.Second)
		}
	}
	var warm sync.WaitGroup // every connection up and every caller's path exercised once
	for c := range concurrency {
		warm.Add(1)
		go func() { defer warm.Done(); one(conns[c / *perConn]) }()
	}
	warm.Wait()
	fmt.Println("ready", concurrency, 0)
	waitForGo()
	busy.Store(0)
	stop := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	results := make([][]float64, concurrency)
	var done sync.WaitGroup
	began := time.Now()
	for c := range concurrency {
		done.Add(1)
		go func() {
			defer done.Done()
			for time.Now().Before(stop) {
				started := time.Now()
				one(conns[c / *perConn])
				results[c] = append(results[c], float64(time.Since(started).Microseconds())/1000)
			}
		}()
	}
	done.Wait()
	elapsed := time.Since(began).Seconds()
	var latencies []float64
	for _, r := range results {
		latencies = append(latencies, r...)
	}
	p50, p99 := quantiles(latencies)
	fmt.Printf(`{"count": %d, "elapsed": %.3f, "p50": %s, "p99": %s, "busy": %d}`+"\n",
		len(latencies), elapsed, jsonNumber(p50), jsonNumber(p99), busy.Load())
}
