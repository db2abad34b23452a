package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/encoding/protowire"
)

// The methods called with raw bytes: the echo floor (bench/echo_server.py) and etcd's v3 API.
const (
	echoUnary      = "/bench.Echo/Unary"
	echoStream     = "/bench.Echo/Stream"
	leaseGrant     = "/etcdserverpb.Lease/LeaseGrant"
	leaseKeepAlive = "/etcdserverpb.Lease/LeaseKeepAlive"
	kvPut          = "/etcdserverpb.KV/Put"
)

// rawCodec sends and receives messages as the bytes they are, so the floor costs no proto work
// and etcd's few messages are encoded by hand (below) without etcd's Go module. Its name is
// "proto" so the content type is the ordinary application/grpc+proto.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

var raw = grpc.ForceCodec(rawCodec{})

// dial opens one client connection (one HTTP/2 connection: grpc-go shares none between
// ClientConns). ADDRESS is host:port, or a comma-separated list (optionally prefixed `ipv4:`, as
// grpc-core spells it) spread round robin, as bench/cluster.py passes for several replicas.
func dial(address string) (*grpc.ClientConn, error) {
	options := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
	address = strings.TrimPrefix(address, "ipv4:")
	if !strings.Contains(address, ",") {
		return grpc.NewClient("passthrough:///"+address, options...)
	}
	builder := manual.NewBuilderWithScheme("loadgen")
	var state resolver.State
	for _, a := range strings.Split(address, ",") {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	builder.InitialState(state)
	options = append(options, grpc.WithResolvers(builder),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	return grpc.NewClient("loadgen:///replicas", options...)
}

// etcd's messages (field numbers from etcdserverpb/rpc.proto), as bench/etcd_wire.py has them.

func leaseGrantRequest(ttl int64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(ttl))
}

func keepAliveRequest(lease int64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(lease))
}

func putRequest(key, value []byte) []byte {
	b := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), key)
	return protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), value)
}

// varintField is the last value of a top-level varint field (0 when absent or malformed).
func varintField(message []byte, number protowire.Number) int64 {
	var found uint64
	for len(message) > 0 {
		num, typ, n := protowire.ConsumeTag(message)
		if n < 0 {
			return 0
		}
		message = message[n:]
		if num == number && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(message)
			if m < 0 {
				return 0
			}
			found, message = v, message[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, message)
		if m < 0 {
			return 0
		}
		message = message[m:]
	}
	return int64(found)
}

// pick is the q-quantile of sorted values (nearest rank, as bench/harness.py computes it).
func pick(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return sorted[int(math.Round(q*float64(len(sorted)-1)))]
}

// jsonNumber spells NaN as Python's json module reads it.
func jsonNumber(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func quantiles(latencies []float64) (float64, float64) {
	slices.Sort(latencies)
	return pick(latencies, 0.5), pick(latencies, 0.99)
}

// jitter is a random duration in [0, d).
func jitter(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d))) }
