package bento_test

// These tests run the client's policy against small in-process servers
// that misbehave on purpose (drop a call, end a stream), which a real
// Bento cannot be made to do on cue. flow_test.go, one directory up, runs
// the same client against a real server.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"bento/clients/go/bento"
	bentov1 "bento/clients/go/bentopb/bento/v1"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

const credential = "AK_test:s3cret"

// serve runs a gRPC server with register's services on a free port and
// returns a Client dialed to it.
func serve(t *testing.T, register func(*grpc.Server), opts ...bento.Option) *bento.Client {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	register(server)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	client, err := bento.Dial(listener.Addr().String(), credential, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// call is what a fake server saw of one attempt.
type call struct {
	method, key, authorization string
}

type tenants struct {
	bentov1.UnimplementedTenantServiceServer
	mu          sync.Mutex
	calls       []call
	unavailable int // how many attempts to drop before answering
}

func (s *tenants) record(ctx context.Context, method string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	first := func(name string) string {
		if v := md.Get(name); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call{method, first("idempotency-key"), first("authorization")})
	if s.unavailable > 0 {
		s.unavailable--
		return status.Error(codes.Unavailable, "try again")
	}
	return nil
}

func (s *tenants) CreatePlatform(ctx context.Context, r *bentov1.CreatePlatformRequest) (*bentov1.CreatePlatformResponse, error) {
	if err := s.record(ctx, "CreatePlatform"); err != nil {
		return nil, err
	}
	if r.GetName() == "" {
		st, _ := status.New(codes.InvalidArgument, "the request has bad fields").WithDetails(
			&errdetails.ErrorInfo{Reason: "invalid_argument", Domain: "bento", Metadata: map[string]string{"k": "v"}},
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "name", Description: "required"},
				{Field: "fee_rate", Description: "between 0 and 1"},
			}},
		)
		return nil, st.Err()
	}
	return &bentov1.CreatePlatformResponse{Platform: &bentov1.Platform{PlatformId: "PL1", Name: r.GetName()}}, nil
}

func (s *tenants) GetPlatform(ctx context.Context, r *bentov1.GetPlatformRequest) (*bentov1.GetPlatformResponse, error) {
	if err := s.record(ctx, "GetPlatform"); err != nil {
		return nil, err
	}
	return &bentov1.GetPlatformResponse{Platform: &bentov1.Platform{PlatformId: r.GetPlatformId()}}, nil
}

func (s *tenants) ListApps(ctx context.Context, r *bentov1.ListAppsRequest) (*bentov1.ListAppsResponse, error) {
	if err := s.record(ctx, "ListApps"); err != nil {
		return nil, err
	}
	const total = 5
	start := 0
	if r.GetPageToken() != "" {
		if _, err := fmt.Sscanf(r.GetPageToken(), "from-%d", &start); err != nil {
			return nil, status.Error(codes.InvalidArgument, "bad page token")
		}
	}
	response := &bentov1.ListAppsResponse{}
	for i := start; i < total && i < start+int(r.GetPageSize()); i++ {
		response.Apps = append(response.Apps, &bentov1.App{AppId: fmt.Sprintf("AP%d", i)})
	}
	if end := start + len(response.Apps); end < total {
		response.NextPageToken = fmt.Sprintf("from-%d", end)
	}
	return response, nil
}

func TestMutationsAreDerivedFromTheDescriptors(t *testing.T) {
	for method, want := range map[string]bool{
		"/bento.v1.CatalogService/ListPlans":          false,
		"/bento.v1.EventService/WatchEvents":          false,
		"/bento.v1.EntitlementService/CheckAccess":    false,
		"/bento.v1.CatalogService/CreatePlan":         true,
		"/bento.v1.PaymentService/CreatePayment":      true,
		"/bento.v1.WebhookService/SendTestWebhook":    true, // IDEMPOTENT is not a read
		"/bento.v1.NoSuchService/NotDeclaredAnywhere": true,
	} {
		if got := bento.IsMutation(method); got != want {
			t.Errorf("IsMutation(%s) = %v, want %v", method, got, want)
		}
	}
	// Every RPC of bento.v1 is either a declared read or gets a key: a
	// method added to the protos needs no list in this client.
	protoregistry.GlobalFiles.RangeFilesByPackage("bento.v1", func(file protoreflect.FileDescriptor) bool {
		for i := 0; i < file.Services().Len(); i++ {
			service := file.Services().Get(i)
			for j := 0; j < service.Methods().Len(); j++ {
				method := service.Methods().Get(j)
				level := method.Options().(*descriptorpb.MethodOptions).GetIdempotencyLevel()
				full := fmt.Sprintf("/%s/%s", service.FullName(), method.Name())
				if bento.IsMutation(full) != (level != descriptorpb.MethodOptions_NO_SIDE_EFFECTS) {
					t.Errorf("%s: IsMutation disagrees with idempotency_level %v", full, level)
				}
			}
		}
		return true
	})
}

func TestAMutationKeepsOneKeyAcrossItsRetries(t *testing.T) {
	fake := &tenants{unavailable: 2}
	client := serve(t, func(s *grpc.Server) { bentov1.RegisterTenantServiceServer(s, fake) })
	ctx := context.Background()
	if _, err := client.Tenants.CreatePlatform(ctx, &bentov1.CreatePlatformRequest{Name: "p"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Tenants.CreatePlatform(ctx, &bentov1.CreatePlatformRequest{Name: "p"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Tenants.CreatePlatform(bento.WithIdempotencyKey(ctx, "mine"), &bentov1.CreatePlatformRequest{Name: "p"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Tenants.GetPlatform(ctx, &bentov1.GetPlatformRequest{PlatformId: "PL1"}); err != nil {
		t.Fatal(err)
	}
	calls := fake.calls
	if len(calls) != 6 {
		t.Fatalf("want 3 attempts of the first call, then 3 calls; got %+v", calls)
	}
	first := calls[0].key
	if first == "" || calls[1].key != first || calls[2].key != first {
		t.Errorf("the retries of one call must carry its one key: %+v", calls[:3])
	}
	if calls[3].key == "" || calls[3].key == first {
		t.Errorf("a second logical call needs a key of its own: %+v", calls[3])
	}
	if calls[4].key != "mine" {
		t.Errorf("the caller's key was not sent: %+v", calls[4])
	}
	if calls[5].key != "" {
		t.Errorf("a read got an idempotency key: %+v", calls[5])
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(credential))
	for _, c := range calls {
		if c.authorization != want {
			t.Errorf("%s sent authorization %q, want %q", c.method, c.authorization, want)
		}
	}
}

func TestUnavailableIsRetriedOnlyWithinTheDeadline(t *testing.T) {
	fake := &tenants{unavailable: 1000}
	client := serve(t, func(s *grpc.Server) { bentov1.RegisterTenantServiceServer(s, fake) },
		bento.WithTimeout(time.Second), bento.WithRetries(100))
	started := time.Now()
	_, err := client.Tenants.GetPlatform(context.Background(), &bentov1.GetPlatformRequest{PlatformId: "PL1"})
	took := time.Since(started)
	e, ok := bento.AsError(err)
	if !ok || (e.Code != codes.Unavailable && e.Code != codes.DeadlineExceeded) {
		t.Fatalf("want UNAVAILABLE or DEADLINE_EXCEEDED, got %v", err)
	}
	// 0.1 + 0.2 + 0.4 s of backoff fit in the second; 0.8 more would not.
	if len(fake.calls) != 4 || took < 700*time.Millisecond || took > 2*time.Second {
		t.Errorf("%d attempts in %v; want 4 within the 1 s deadline", len(fake.calls), took)
	}
}

func TestErrorsCarryCodeReasonMetadataAndFields(t *testing.T) {
	client := serve(t, func(s *grpc.Server) { bentov1.RegisterTenantServiceServer(s, &tenants{}) })
	_, err := client.Tenants.CreatePlatform(context.Background(), &bentov1.CreatePlatformRequest{})
	var e *bento.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *bento.Error, got %T %v", err, err)
	}
	if e.Code != codes.InvalidArgument || e.Reason != "invalid_argument" || e.Domain != "bento" || e.Metadata["k"] != "v" {
		t.Errorf("decoded %+v", e)
	}
	if len(e.FieldViolations) != 2 || e.FieldViolations["fee_rate"] != "between 0 and 1" {
		t.Errorf("field violations %v", e.FieldViolations)
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("status.Code reads %v", status.Code(err))
	}
}

func TestPagesWalksAListToItsEnd(t *testing.T) {
	fake := &tenants{}
	client := serve(t, func(s *grpc.Server) { bentov1.RegisterTenantServiceServer(s, fake) })
	request := &bentov1.ListAppsRequest{PageSize: 2}
	apps, err := bento.Pages(context.Background(), client.Tenants.ListApps, request, (*bentov1.ListAppsResponse).GetApps).All()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, app := range apps {
		ids = append(ids, app.GetAppId())
	}
	if fmt.Sprint(ids) != "[AP0 AP1 AP2 AP3 AP4]" || len(fake.calls) != 3 {
		t.Errorf("got %v in %d calls", ids, len(fake.calls))
	}
	if request.GetPageToken() != "" {
		t.Errorf("Pages changed the caller's request")
	}
}

// events serves WatchEvents from a script: each stream sends the next
// batch of sequences and then ends with that batch's error.
type events struct {
	bentov1.UnimplementedEventServiceServer
	mu      sync.Mutex
	batches []batch
	after   []int64 // after_sequence of each stream opened
}

type batch struct {
	sequences []int64
	heartbeat int64
	end       error
}

func (s *events) WatchEvents(r *bentov1.WatchEventsRequest, stream bentov1.EventService_WatchEventsServer) error {
	s.mu.Lock()
	s.after = append(s.after, r.GetAfterSequence())
	if len(s.batches) == 0 {
		s.mu.Unlock()
		<-stream.Context().Done()
		return nil
	}
	b := s.batches[0]
	s.batches = s.batches[1:]
	s.mu.Unlock()
	for _, seq := range b.sequences {
		event := &bentov1.Event{Sequence: seq, Type: "subscription.updated", SubscriptionId: "SUB1",
			Payload: &bentov1.Event_Subscription{Subscription: &bentov1.Subscription{SubscriptionId: "SUB1"}}}
		if err := stream.Send(&bentov1.WatchEventsResponse{Kind: &bentov1.WatchEventsResponse_Event{Event: event}}); err != nil {
			return err
		}
	}
	if b.heartbeat > 0 {
		heartbeat := &bentov1.Heartbeat{NewestSequence: b.heartbeat}
		if err := stream.Send(&bentov1.WatchEventsResponse{Kind: &bentov1.WatchEventsResponse_Heartbeat{Heartbeat: heartbeat}}); err != nil {
			return err
		}
	}
	return b.end
}

func refusal(code codes.Code, reason string, metadata map[string]string) error {
	st, _ := status.New(code, reason).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "bento", Metadata: metadata})
	return st.Err()
}

func TestWatchResumesFromTheLastSequenceAndStopsWhenItCannot(t *testing.T) {
	for _, end := range []struct {
		code   codes.Code
		reason string
	}{
		{codes.OutOfRange, "cursor_ahead_of_log"},
		{codes.FailedPrecondition, "events_pruned"},
	} {
		fake := &events{batches: []batch{
			{sequences: []int64{3, 5}, end: status.Error(codes.Unavailable, "server going away")},
			{sequences: []int64{8}, heartbeat: 12, end: nil}, // a clean end: reopen too
			{sequences: []int64{13}, end: refusal(end.code, end.reason, map[string]string{"oldest_sequence": "40"})},
		}}
		client := serve(t, func(s *grpc.Server) { bentov1.RegisterEventServiceServer(s, fake) })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		w := client.Watch(ctx, &bentov1.WatchEventsRequest{SubscriptionId: "SUB1", AfterSequence: 1})
		var seen []int64
		for w.Next() {
			if w.Event().GetSubscription().GetSubscriptionId() != "SUB1" {
				t.Errorf("event %d lost its typed payload", w.Event().GetSequence())
			}
			seen = append(seen, w.Event().GetSequence())
		}
		cancel()
		if fmt.Sprint(seen) != "[3 5 8 13]" {
			t.Errorf("%s: saw %v", end.reason, seen)
		}
		if fmt.Sprint(fake.after) != "[1 5 12]" {
			t.Errorf("%s: streams opened after %v, want [1 5 12]", end.reason, fake.after)
		}
		e, ok := bento.AsError(w.Err())
		if !ok || e.Code != end.code || e.Reason != end.reason || e.Metadata["oldest_sequence"] != "40" {
			t.Errorf("%s: stopped with %v", end.reason, w.Err())
		}
	}
}

func TestWatchStopsWhenItsContextEnds(t *testing.T) {
	fake := &events{batches: []batch{{sequences: []int64{1}, end: status.Error(codes.Unavailable, "x")}}}
	client := serve(t, func(s *grpc.Server) { bentov1.RegisterEventServiceServer(s, fake) })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	w := client.Watch(ctx, &bentov1.WatchEventsRequest{})
	defer w.Close()
	n := 0
	for w.Next() {
		n++
	}
	if e, ok := bento.AsError(w.Err()); n != 1 || !ok || e.Code != codes.DeadlineExceeded {
		t.Errorf("after %d events: %v", n, w.Err())
	}
}
