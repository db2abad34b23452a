package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	registryv1 "registry.local/generated/go/registry/v1"
)

// beatGen holds the streams of one `loadgen beat` run and what they measured.
type beatGen struct {
	mode     string
	first    int
	count    int
	interval time.Duration
	conns    []*grpc.ClientConn
	perConn  int
	leases   []int64 // etcd: instance index -> its lease

	replied   []atomic.Bool // instance index -> had its first answer
	unreplied atomic.Int64
	allReady  chan struct{}
	binds     atomic.Int64

	sessions atomic.Int64 // streams opened, reconnections included
	failures atomic.Int64 // streams that ended in an error
	retries  atomic.Int64 // registrations or grants refused and retried

	verbose   bool
	measuring atomic.Bool
	mu        sync.Mutex
	latencies []float64 // ms, while measuring
}

func beatMain(args []string) {
	flags := flag.NewFlagSet("beat", flag.ExitOnError)
	opening := flags.Int("opening", 512, "registrations (lease grants, stream opens) in flight while opening")
	perConn := flags.Int("streams-per-connection", 200, "streams sharing one HTTP/2 connection")
	progress := flags.Duration("progress", 0, "print counters to stderr this often (0: never)")
	profile := flags.String("cpuprofile", "", "write a CPU profile of the opening and the measurement here")
	_ = flags.Parse(args)
	if flags.NArg() != 6 {
		usage()
	}
	a := flags.Args()
	first, err1 := strconv.Atoi(a[2])
	count, err2 := strconv.Atoi(a[3])
	interval, err3 := strconv.ParseFloat(a[4], 64)
	seconds, err4 := strconv.ParseFloat(a[5], 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || count < 1 || interval <= 0 {
		usage()
	}
	if a[1] != "registry" && a[1] != "etcd" && a[1] != "echo" {
		usage()
	}
	g := &beatGen{
		mode: a[1], first: first, count: count, perConn: max(1, *perConn),
		interval: time.Duration(interval * float64(time.Second)),
		leases:   make([]int64, count), replied: make([]atomic.Bool, count), allReady: make(chan struct{}),
	}
	g.unreplied.Store(int64(count))
	for range (count + g.perConn - 1) / g.perConn {
		conn, err := dial(a[0])
		if err != nil {
			fail("%v", err)
		}
		g.conns = append(g.conns, conn)
	}
	if *profile != "" {
		startProfile(*profile) // stopped once the measurement is printed
	}
	began := time.Now()
	if *progress > 0 {
		g.verbose = true
		go g.report(began, *progress)
	}
	g.open(max(1, *opening))
	<-g.allReady
	fmt.Printf("ready %d %.3f\n", count, time.Since(began).Seconds())
	waitForGo()
	g.measuring.Store(true)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	g.measuring.Store(false)
	g.mu.Lock()
	p50, p99 := quantiles(g.latencies)
	acks := len(g.latencies)
	g.mu.Unlock()
	fmt.Printf(`{"acks": %d, "p50": %s, "p99": %s, "binds": %d, "failed": %d, "retried": %d}`+"\n",
		acks, jsonNumber(p50), jsonNumber(p99), g.binds.Load(), g.failures.Load(), g.retries.Load())
	if *profile != "" {
		pprof.StopCPUProfile()
	}
	select {} // keep beating until killed
}

func startProfile(path string) {
	out, err := os.Create(path)
	if err != nil {
		fail("%v", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		fail("%v", err)
	}
}

// report prints what the generator is doing, for a run that does not get ready.
func (g *beatGen) report(began time.Time, every time.Duration) {
	for range time.Tick(every) {
		fmt.Fprintf(os.Stderr, "loadgen %.0fs: answered %d/%d, streams opened %d, failed %d, retried %d, binds %d\n",
			time.Since(began).Seconds(), int64(g.count)-g.unreplied.Load(), g.count, g.sessions.Load(),
			g.failures.Load(), g.retries.Load(), g.binds.Load())
	}
}

// failed counts a stream that ended in an error; the first few are shown with -progress.
func (g *beatGen) failed(err error) {
	if n := g.failures.Add(1); n <= 5 && g.verbose {
		fmt.Fprintf(os.Stderr, "loadgen: stream failed: %v\n", err)
	}
}

// open registers (or grants) instances `opening` at a time; each instance's stream starts as
// soon as its own registration is done, and the opener moves on once it had its first answer.
func (g *beatGen) open(opening int) {
	next := make(chan int)
	go func() {
		for i := range g.count {
			next <- i
		}
		close(next)
	}()
	for range min(opening, g.count) {
		go func() {
			for i := range next {
				switch g.mode {
				case "registry":
					g.register(i)
				case "etcd":
					g.grant(i)
				}
				answered := make(chan struct{})
				go g.instance(i, answered)
				<-answered
			}
		}()
	}
}

func (g *beatGen) conn(i int) *grpc.ClientConn { return g.conns[i/g.perConn] }

func (g *beatGen) instanceID(i int) string { return "bench-" + strconv.Itoa(g.first+i) }

// register retries what admission control refuses (see refused) with a jittered exponential
// back-off, as the SDK does.
func (g *beatGen) register(i int) {
	policy := &registryv1.HeartbeatPolicy{
		Interval: durationpb.New(g.interval), Timeout: durationpb.New(10 * g.interval), MaxFailures: 3,
	}
	request := registerRequest(g.first+i, policy)
	stub := registryv1.NewRegistryServiceClient(g.conn(i))
	g.retry(func(ctx context.Context) error { _, err := stub.Register(ctx, request); return err })
}

func (g *beatGen) grant(i int) {
	request := leaseGrantRequest(max(1, int64((10*g.interval+time.Second/2)/time.Second)))
	g.retry(func(ctx context.Context) error {
		var reply []byte
		if err := g.conn(i).Invoke(ctx, leaseGrant, &request, &reply, raw); err != nil {
			return err
		}
		g.leases[i] = varintField(reply, 2) // LeaseGrantResponse.ID
		return nil
	})
}

func (g *beatGen) retry(call func(ctx context.Context) error) {
	wait := 20 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := call(ctx)
		cancel()
		if err == nil {
			return
		}
		if !refused(err) {
			fail("%v", err)
		}
		g.retries.Add(1)
		time.Sleep(wait/2 + jitter(wait))
		wait = min(2*wait, time.Second)
	}
}

// refused tells a call refused for now from a real failure: UNAVAILABLE (e.g. REGISTRY_BUSY),
// RESOURCE_EXHAUSTED, CANCELLED (grpc-core sheds calls the application has not picked up once more
// than 1,000 wait, and cancels those that waited 30 s), and etcd's "too many requests" while its
// apply loop is behind. Registrations are idempotent, so a retry is safe.
func refused(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.Canceled:
		return true
	}
	return strings.Contains(status.Convert(err).Message(), "too many requests")
}

// instance keeps one instance's stream up for ever; `answered` is closed at its first answer.
func (g *beatGen) instance(i int, answered chan struct{}) {
	phase := jitter(g.interval)
	var once sync.Once
	first := func() {
		once.Do(func() { close(answered) })
		if !g.replied[i].Swap(true) && g.unreplied.Add(-1) == 0 {
			close(g.allReady)
		}
	}
	for {
		g.session(i, phase, first)
		time.Sleep(jitter(time.Second))
	}
}

// stream is one open stream of any mode: send the opening message, beat, read answers.
type stream interface {
	opening() error
	beat(sequence uint64) error
	// recv returns the next answer: opened (bound, or the first raw reply), or the sequence it
	// acknowledges (0 for answers that are neither).
	recv() (opened bool, sequence uint64, err error)
}

// session runs one stream until it fails.
func (g *beatGen) session(i int, phase time.Duration, first func()) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.sessions.Add(1)
	s, err := g.openStream(ctx, i)
	if err == nil {
		err = s.opening()
	}
	if err != nil {
		g.failed(err)
		return
	}
	var sent sentRing
	go g.beatLoop(ctx, s, phase, &sent)
	for {
		opened, sequence, err := s.recv()
		if err != nil {
			g.failed(err)
			return
		}
		if opened {
			first()
			continue
		}
		if began, ok := sent.take(sequence); ok && g.measuring.Load() {
			ms := float64(time.Since(began).Microseconds()) / 1000
			g.mu.Lock()
			g.latencies = append(g.latencies, ms)
			g.mu.Unlock()
		}
	}
}

// beatLoop sends one beat per interval from `phase` on, skipping slots missed while a send waited.
func (g *beatGen) beatLoop(ctx context.Context, s stream, phase time.Duration, sent *sentRing) {
	timer := time.NewTimer(phase)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return
	case <-timer.C:
	}
	due := time.Now()
	for sequence := uint64(1); ; sequence++ {
		sent.put(sequence, time.Now())
		if s.beat(sequence) != nil {
			return
		}
		due = due.Add(g.interval)
		if now := time.Now(); due.Before(now) {
			due = now
		}
		timer.Reset(time.Until(due))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// sentRing remembers when the last few beats of one stream were sent, by sequence.
type sentRing struct {
	mu    sync.Mutex
	slots [16]struct {
		sequence uint64
		at       time.Time
	}
}

func (r *sentRing) put(sequence uint64, at time.Time) {
	r.mu.Lock()
	slot := &r.slots[sequence%uint64(len(r.slots))]
	slot.sequence, slot.at = sequence, at
	r.mu.Unlock()
}

func (r *sentRing) take(sequence uint64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	slot := &r.slots[sequence%uint64(len(r.slots))]
	if sequence == 0 || slot.sequence != sequence {
		return time.Time{}, false
	}
	slot.sequence = 0
	return slot.at, true
}

func (g *beatGen) openStream(ctx context.Context, i int) (stream, error) {
	conn := g.conn(i)
	if g.mode == "registry" {
		call, err := registryv1.NewHeartbeatServiceClient(conn).Heartbeat(ctx)
		if err != nil {
			return nil, err
		}
		return &heartbeatStream{call: call, id: g.instanceID(i), binds: &g.binds}, nil
	}
	method, message := echoStream, []byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") // the floor's 32-byte payload
	if g.mode == "etcd" {
		method, message = leaseKeepAlive, keepAliveRequest(g.leases[i])
	}
	call, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method, raw)
	if err != nil {
		return nil, err
	}
	return &rawStream{call: call, message: message, answers: -1}, nil
}

type heartbeatStream struct {
	call  registryv1.HeartbeatService_HeartbeatClient
	id    string
	binds *atomic.Int64
}

func (s *heartbeatStream) opening() error {
	bind := &registryv1.HeartbeatBind{ServiceName: "bench", InstanceId: s.id, TakeOver: true}
	return s.call.Send(&registryv1.HeartbeatRequest{Kind: &registryv1.HeartbeatRequest_Bind{Bind: bind}})
}

func (s *heartbeatStream) beat(sequence uint64) error {
	beat := &registryv1.Beat{Sequence: sequence, SendTime: timestamppb.Now()}
	return s.call.Send(&registryv1.HeartbeatRequest{Kind: &registryv1.HeartbeatRequest_Beat{Beat: beat}})
}

func (s *heartbeatStream) recv() (bool, uint64, error) {
	response, err := s.call.Recv()
	if err != nil {
		return false, 0, err
	}
	switch kind := response.Kind.(type) {
	case *registryv1.HeartbeatResponse_Bound:
		s.binds.Add(1)
		return true, 0, nil
	case *registryv1.HeartbeatResponse_Ack:
		return false, kind.Ack.Sequence, nil
	}
	return false, 0, nil
}

// rawStream is an echo or LeaseKeepAlive stream: answers come in order, one per message, so the
// Nth answer after the opening one acknowledges beat N.
type rawStream struct {
	call    grpc.ClientStream
	message []byte
	reply   []byte
	answers int64
}

func (s *rawStream) opening() error { return s.call.SendMsg(&s.message) }

func (s *rawStream) beat(uint64) error { return s.call.SendMsg(&s.message) }

func (s *rawStream) recv() (bool, uint64, error) {
	if err := s.call.RecvMsg(&s.reply); err != nil {
		return false, 0, err
	}
	s.answers++
	return s.answers == 0, uint64(s.answers), nil
}

// registerRequest is instance bench-N of service `bench`, as every benchmark registers it.
func registerRequest(n int, policy *registryv1.HeartbeatPolicy) *registryv1.RegisterRequest {
	return &registryv1.RegisterRequest{Instance: &registryv1.Instance{
		ServiceName: "bench",
		InstanceId:  "bench-" + strconv.Itoa(n),
		Endpoints: []*registryv1.Endpoint{{
			Host: "10.0.0.1", Port: uint32(1 + n%60000), Protocol: registryv1.EndpointProtocol_ENDPOINT_PROTOCOL_GRPC,
		}},
		HeartbeatPolicy: policy,
	}}
}
