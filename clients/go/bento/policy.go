package bento

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// IdempotencyKeyHeader is the metadata the server runs a mutation once per.
const IdempotencyKeyHeader = "idempotency-key"

// WithIdempotencyKey makes the mutation called with ctx use key instead of
// a fresh one: calling again with the same key and request answers what the
// first call did, without acting twice. Use it to retry a logical call
// across process restarts; within one call the client already reuses its key.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, IdempotencyKeyHeader, key)
}

var mutations sync.Map // full method name -> bool

// IsMutation reports whether fullMethod ("/bento.v1.CatalogService/CreatePlan")
// changes state. The protos declare every read
// `option idempotency_level = NO_SIDE_EFFECTS;`, so the answer comes from
// the registered descriptors and a new RPC needs no change here. A method
// the registry does not know counts as a mutation: a key on a read does no
// harm, a mutation without one could act twice when retried.
func IsMutation(fullMethod string) bool {
	if known, ok := mutations.Load(fullMethod); ok {
		return known.(bool)
	}
	name := strings.Replace(strings.TrimPrefix(fullMethod, "/"), "/", ".", 1)
	mutating := true
	if found, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name)); err == nil {
		if method, ok := found.(protoreflect.MethodDescriptor); ok {
			options, _ := method.Options().(*descriptorpb.MethodOptions)
			mutating = options.GetIdempotencyLevel() != descriptorpb.MethodOptions_NO_SIDE_EFFECTS
		}
	}
	mutations.Store(fullMethod, mutating)
	return mutating
}

func newKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("bento: no randomness for an idempotency key: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// unary is every unary call's policy: deadline, idempotency key, retries of
// UNAVAILABLE, errors as *Error.
func (c *Client) unary(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok && c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	if IsMutation(method) {
		// The key is chosen once, before the first attempt, so every retry
		// of this call carries the same one and the server acts once.
		md, _ := metadata.FromOutgoingContext(ctx)
		if len(md.Get(IdempotencyKeyHeader)) == 0 {
			ctx = WithIdempotencyKey(ctx, newKey())
		}
	}
	delay := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		callOpts := opts
		if attempt > 0 {
			// A retry waits for the connection to be back (a restarting
			// server) instead of failing at once while gRPC waits out its
			// reconnect backoff; the deadline still bounds it.
			callOpts = append(opts[:len(opts):len(opts)], grpc.WaitForReady(true))
		}
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		if err == nil {
			return nil
		}
		if status.Code(err) != codes.Unavailable || attempt >= c.retries || !timeLeft(ctx, delay) {
			return toError(err)
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return toError(status.FromContextError(ctx.Err()).Err())
		}
		delay *= 2
	}
}

// timeLeft is whether ctx leaves more than wait before its deadline: a retry
// that cannot start in time only turns UNAVAILABLE into DEADLINE_EXCEEDED.
func timeLeft(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > wait
}
