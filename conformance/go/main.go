// Command conformance drives the registry API from Go through the generated stubs in
// generated/go, the way a Go service would, and reports each step as one JSON line on stdout.
//
// Environment: REGISTRY_ADDRESS (host:port), REGISTRY_TOKEN (a JWT whose sub is SERVICE_NAME, with
// the scopes discover, publish:conformance.# and subscribe:conformance.#), SERVICE_NAME,
// INSTANCE_ID. The suite (tests/test_conformance.py) runs it against a real registry:
//
//  1. serve an InboxService on a free loopback port and Watch its own service;
//  2. Register an instance (version 1.4.2) and bind a heartbeat stream, beating every 200 ms;
//  3. see its own instance go HEALTHY on the Watch;
//  4. Lookup with a version constraint that matches (and one that does not);
//  5. Subscribe, Publish one event and receive it;
//  6. print {"step":"ready"} and wait for one command relayed from a Python caller: verify the
//     registry's delivery token (EdDSA, from GetDeliveryKeys), and reply with the caller's identity
//     and the W3C traceparent it received;
//  7. say goodbye on the heartbeat stream, Deregister, exit 0. Any failure exits 1 with a message.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "registry.local/generated/go/registry/v1"
)

const version = "1.4.2"

func report(step string, fields map[string]any) {
	line := map[string]any{"step": step}
	for k, v := range fields {
		line[k] = v
	}
	encoded, _ := json.Marshal(line)
	fmt.Println(string(encoded))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "conformance (go): "+format+"\n", args...)
	os.Exit(1)
}

// bearer puts the token on every call; plaintext is fine on loopback.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// deliveryKeys verifies the registry's delivery tokens (EdDSA JWTs) without a JWT library.
type deliveryKeys struct {
	keys   map[string]ed25519.PublicKey
	issuer string
}

func loadDeliveryKeys(ctx context.Context, relay registryv1.RelayServiceClient) (*deliveryKeys, error) {
	resp, err := relay.GetDeliveryKeys(ctx, &registryv1.GetDeliveryKeysRequest{})
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []struct{ Kty, Crv, Kid, X string } `json:"keys"`
	}
	if err := json.Unmarshal([]byte(resp.GetJwks()), &set); err != nil {
		return nil, err
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty == "OKP" && k.Crv == "Ed25519" {
			raw, err := base64.RawURLEncoding.DecodeString(k.X)
			if err != nil {
				return nil, err
			}
			keys[k.Kid] = ed25519.PublicKey(raw)
		}
	}
	return &deliveryKeys{keys: keys, issuer: resp.GetIssuer()}, nil
}

// verify returns the sending service (`sub`) of a delivery token meant for `audience` and `envelopeID`.
func (d *deliveryKeys) verify(token, audience, envelopeID string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss, Sub, Aud, Eid string
		Exp                float64
	}
	for i, target := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return "", err
		}
		if err := json.Unmarshal(raw, target); err != nil {
			return "", err
		}
	}
	key, ok := d.keys[header.Kid]
	if header.Alg != "EdDSA" || !ok {
		return "", fmt.Errorf("unknown key %q or algorithm %q", header.Kid, header.Alg)
	}
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !ed25519.Verify(key, []byte(parts[0]+"."+parts[1]), signature) {
		return "", errors.New("bad signature")
	}
	switch {
	case claims.Iss != d.issuer:
		return "", fmt.Errorf("issuer %q", claims.Iss)
	case claims.Aud != audience:
		return "", fmt.Errorf("audience %q", claims.Aud)
	case claims.Eid != envelopeID:
		return "", fmt.Errorf("envelope %q", claims.Eid)
	case float64(time.Now().Unix()) >= claims.Exp:
		return "", errors.New("expired")
	}
	return claims.Sub, nil
}

// inbox takes one command and hands what it saw to the main goroutine.
type inbox struct {
	registryv1.UnimplementedInboxServiceServer
	service string
	keys    *deliveryKeys
	got     chan map[string]any
}

func (in *inbox) Deliver(ctx context.Context, req *registryv1.DeliverRequest) (*registryv1.DeliverResponse, error) {
	envelope := req.GetEnvelope()
	sender, err := in.keys.verify(req.GetDeliveryToken(), in.service, envelope.GetId())
	if err != nil {
		return nil, fmt.Errorf("delivery token rejected: %w", err)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	seen := map[string]any{
		"verified_sender": sender,
		"source_service":  envelope.GetSourceService(),
		"name":            envelope.GetName(),
		"type":            envelope.GetType().String(),
		"trace_id":        envelope.GetTraceId(),
		"traceparent":     strings.Join(md.Get("traceparent"), ","),
		"payload":         string(envelope.GetPayload()),
		"language":        "go",
	}
	payload, _ := json.Marshal(seen)
	select {
	case in.got <- seen:
	default:
	}
	return &registryv1.DeliverResponse{Reply: &registryv1.Reply{Payload: payload, ContentType: "application/json"}}, nil
}

func main() {
	address, token := os.Getenv("REGISTRY_ADDRESS"), os.Getenv("REGISTRY_TOKEN")
	service, instanceID := os.Getenv("SERVICE_NAME"), os.Getenv("INSTANCE_ID")
	if address == "" || token == "" || service == "" || instanceID == "" {
		fail("set REGISTRY_ADDRESS, REGISTRY_TOKEN, SERVICE_NAME and INSTANCE_ID")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	conn, err := grpc.NewClient(address,
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	registry := registryv1.NewRegistryServiceClient(conn)
	heartbeats := registryv1.NewHeartbeatServiceClient(conn)
	relay := registryv1.NewRelayServiceClient(conn)

	// 1. The inbox and the watch, before registering, so the watch sees every change.
	keys, err := loadDeliveryKeys(ctx, relay)
	if err != nil {
		fail("GetDeliveryKeys: %v", err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	box := &inbox{service: service, keys: keys, got: make(chan map[string]any, 1)}
	server := grpc.NewServer()
	registryv1.RegisterInboxServiceServer(server, box)
	go server.Serve(listener)
	defer server.Stop()
	port := listener.Addr().(*net.TCPAddr).Port

	watch, err := registry.Watch(ctx, &registryv1.WatchRequest{ServiceNames: []string{service}})
	if err != nil {
		fail("Watch: %v", err)
	}
	healthy := make(chan error, 1)
	go func() {
		for {
			resp, err := watch.Recv()
			if err != nil {
				healthy <- fmt.Errorf("watch ended: %w", err)
				return
			}
			for _, event := range resp.GetEvents() {
				instance := event.GetInstance()
				if instance.GetInstanceId() == instanceID && instance.GetStatus() == registryv1.HealthStatus_HEALTH_STATUS_HEALTHY {
					healthy <- nil
					return
				}
			}
		}
	}()

	// 2. Register, then bind a heartbeat stream and beat.
	registered, err := registry.Register(ctx, &registryv1.RegisterRequest{Instance: &registryv1.Instance{
		ServiceName: service,
		InstanceId:  instanceID,
		Version:     version,
		Endpoints: []*registryv1.Endpoint{{
			Name: "inbox", Host: "127.0.0.1", Port: uint32(port), Protocol: registryv1.EndpointProtocol_ENDPOINT_PROTOCOL_GRPC,
		}},
		HeartbeatPolicy: &registryv1.HeartbeatPolicy{
			Interval: durationpb.New(time.Second), Timeout: durationpb.New(5 * time.Second), MaxFailures: 3,
		},
	}})
	if err != nil {
		fail("Register: %v", err)
	}
	report("registered", map[string]any{"created": registered.GetCreated(), "port": port})

	stream, err := heartbeats.Heartbeat(ctx)
	if err != nil {
		fail("Heartbeat: %v", err)
	}
	bind := &registryv1.HeartbeatRequest{Kind: &registryv1.HeartbeatRequest_Bind{
		Bind: &registryv1.HeartbeatBind{ServiceName: service, InstanceId: instanceID}}}
	if err := stream.Send(bind); err != nil {
		fail("bind: %v", err)
	}
	first, err := stream.Recv()
	if err != nil || first.GetBound() == nil {
		fail("expected HeartbeatBound, got %v (%v)", first, err)
	}
	var sendMu sync.Mutex // the beat goroutine and main both send on the stream
	send := func(req *registryv1.HeartbeatRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(req)
	}
	acks := make(chan uint64, 16)
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				close(acks)
				return
			}
			if ack := resp.GetAck(); ack != nil {
				acks <- ack.GetSequence()
			}
		}
	}()
	beat := func(sequence uint64) error {
		return send(&registryv1.HeartbeatRequest{Kind: &registryv1.HeartbeatRequest_Beat{
			Beat: &registryv1.Beat{Sequence: sequence, SendTime: timestamppb.Now()}}})
	}
	if err := beat(1); err != nil {
		fail("beat: %v", err)
	}
	select {
	case sequence, ok := <-acks:
		if !ok || sequence != 1 {
			fail("expected the ack of beat 1, got %d (stream open: %v)", sequence, ok)
		}
	case <-ctx.Done():
		fail("no ack for beat 1")
	}
	report("beat", map[string]any{"acked": 1})
	go func() {
		for sequence := uint64(2); ; sequence++ {
			time.Sleep(200 * time.Millisecond)
			if beat(sequence) != nil {
				return
			}
		}
	}()
	go func() {
		for range acks { // keep draining acks
		}
	}()

	// 3. The watch sees the instance go HEALTHY.
	select {
	case err := <-healthy:
		if err != nil {
			fail("%v", err)
		}
	case <-ctx.Done():
		fail("the instance never went HEALTHY on the watch")
	}
	report("healthy", nil)

	// 4. Lookup with a version constraint.
	match, err := registry.Lookup(ctx, &registryv1.LookupRequest{ServiceName: service, VersionConstraint: ">=1.4.0,<2.0.0"})
	if err != nil {
		fail("Lookup: %v", err)
	}
	if len(match.GetInstances()) != 1 || match.GetInstances()[0].GetInstanceId() != instanceID {
		fail("Lookup >=1.4.0,<2.0.0 found %v", match.GetInstances())
	}
	miss, err := registry.Lookup(ctx, &registryv1.LookupRequest{ServiceName: service, VersionConstraint: ">=2.0.0"})
	if err != nil {
		fail("Lookup: %v", err)
	}
	if len(miss.GetInstances()) != 0 {
		fail("Lookup >=2.0.0 found %v", miss.GetInstances())
	}
	report("lookup", map[string]any{"found": instanceID})

	// 5. Subscribe, publish one event, receive it.
	topic := "conformance." + service + ".hello"
	subscription, err := relay.Subscribe(ctx, &registryv1.SubscribeRequest{
		Filter: &registryv1.EventFilter{Topics: []string{"conformance." + service + ".*"}}})
	if err != nil {
		fail("Subscribe: %v", err)
	}
	started, err := subscription.Recv()
	if err != nil || started.GetStarted() == nil {
		fail("expected SubscriptionStarted, got %v (%v)", started, err)
	}
	published, err := relay.Publish(ctx, &registryv1.PublishRequest{Envelope: &registryv1.Envelope{
		Type: registryv1.MessageType_MESSAGE_TYPE_EVENT, Name: topic, Payload: []byte(`{"from":"go"}`),
		ContentType: "application/json"}})
	if err != nil {
		fail("Publish: %v", err)
	}
	event, err := subscription.Recv()
	if err != nil || event.GetEvent().GetId() != published.GetEventId() {
		fail("expected event %s, got %v (%v)", published.GetEventId(), event, err)
	}
	if event.GetEvent().GetSourceService() != service || string(event.GetEvent().GetPayload()) != `{"from":"go"}` {
		fail("event arrived changed: %v", event.GetEvent())
	}
	report("event", map[string]any{"sequence": published.GetSequence(), "name": event.GetEvent().GetName()})

	// 6. Ready for the relayed command.
	report("ready", nil)
	select {
	case seen := <-box.got:
		report("command", seen)
	case <-ctx.Done():
		fail("no command arrived")
	}

	// 7. Leave: goodbye, deregister.
	goodbye := &registryv1.HeartbeatRequest{Kind: &registryv1.HeartbeatRequest_Goodbye{Goodbye: &registryv1.HeartbeatGoodbye{}}}
	if err := send(goodbye); err != nil && !errors.Is(err, io.EOF) {
		fail("goodbye: %v", err)
	}
	sendMu.Lock()
	stream.CloseSend()
	sendMu.Unlock()
	if _, err := registry.Deregister(ctx, &registryv1.DeregisterRequest{ServiceName: service, InstanceId: instanceID}); err != nil {
		fail("Deregister: %v", err)
	}
	report("done", nil)
}
