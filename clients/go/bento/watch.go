package bento

import (
	"context"
	"errors"
	"io"
	"time"

	bentov1 "bento/clients/go/bentopb/bento/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Watcher yields the events of WatchEvents, reopening the stream from the
// last sequence seen when it drops, so nothing is missed or repeated.
//
//	w := client.Watch(ctx, &bentov1.WatchEventsRequest{SubscriptionId: id})
//	defer w.Close()
//	for w.Next() {
//		event := w.Event()
//		if sub := event.GetSubscription(); sub != nil { ... }
//	}
//	err := w.Err() // why it stopped
//
// It stops with an *Error when reopening cannot help: the cursor is older
// than what the server keeps (FAILED_PRECONDITION events_pruned; Metadata
// "oldest_sequence" says where to resync from) or beyond its newest event
// (OUT_OF_RANGE cursor_ahead_of_log: a cursor of another database, or from
// before a restore), the key was revoked (api_key_revoked), the
// subscription is not the caller's (subscription_not_found). It stops with
// CANCELED or DEADLINE_EXCEEDED when ctx ends.
type Watcher struct {
	client  *Client
	ctx     context.Context
	request *bentov1.WatchEventsRequest
	stream  bentov1.EventService_WatchEventsClient
	cancel  context.CancelFunc
	event   *bentov1.Event
	cursor  int64
	delay   time.Duration
	closed  bool
	err     error
}

const (
	watchFirstDelay = 100 * time.Millisecond
	watchMaxDelay   = 5 * time.Second
)

// Watch streams the events after request.AfterSequence that match request,
// then new ones as they commit, until ctx ends, Close, or an error that
// reopening cannot help.
func (c *Client) Watch(ctx context.Context, request *bentov1.WatchEventsRequest) *Watcher {
	return &Watcher{
		client:  c,
		ctx:     ctx,
		request: proto.Clone(request).(*bentov1.WatchEventsRequest),
		cursor:  request.GetAfterSequence(),
		delay:   watchFirstDelay,
	}
}

// Next waits for the next event; false when the watch stopped (see Err).
func (w *Watcher) Next() bool {
	for !w.closed && w.err == nil {
		if w.stream == nil {
			ctx, cancel := context.WithCancel(w.ctx)
			request := proto.Clone(w.request).(*bentov1.WatchEventsRequest)
			request.AfterSequence = w.cursor
			stream, err := w.client.Events.WatchEvents(ctx, request)
			if err != nil {
				cancel()
				w.backOff(err)
				continue
			}
			w.stream, w.cancel = stream, cancel
		}
		message, err := w.stream.Recv()
		if err != nil {
			w.drop()
			w.backOff(err)
			continue
		}
		w.delay = watchFirstDelay
		switch kind := message.GetKind().(type) {
		case *bentov1.WatchEventsResponse_Event:
			w.event = kind.Event
			w.cursor = kind.Event.GetSequence()
			return true
		case *bentov1.WatchEventsResponse_Heartbeat:
			// The server has sent every event up to newest_sequence that
			// this stream would send: a reopened stream may start there.
			if newest := kind.Heartbeat.GetNewestSequence(); newest > w.cursor {
				w.cursor = newest
			}
		}
	}
	return false
}

// backOff waits before reopening a stream that ended with err, or records
// why the watch stops. A stream that ends without an error (io.EOF) was
// closed by a server going away, like one that ends UNAVAILABLE.
func (w *Watcher) backOff(err error) {
	if w.ctx.Err() != nil {
		w.err = toError(status.FromContextError(w.ctx.Err()).Err())
		return
	}
	if !errors.Is(err, io.EOF) && status.Code(err) != codes.Unavailable {
		w.err = toError(err)
		return
	}
	timer := time.NewTimer(w.delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-w.ctx.Done():
		w.err = toError(status.FromContextError(w.ctx.Err()).Err())
	}
	if w.delay *= 2; w.delay > watchMaxDelay {
		w.delay = watchMaxDelay
	}
}

func (w *Watcher) drop() {
	if w.cancel != nil {
		w.cancel()
	}
	w.stream, w.cancel = nil, nil
}

// Event is the event Next moved to.
func (w *Watcher) Event() *bentov1.Event { return w.event }

// Cursor is the sequence to resume from later (a WatchEventsRequest's or a
// ListEventsRequest's AfterSequence): the last event yielded, or further
// when a heartbeat said nothing this watch would see came since.
func (w *Watcher) Cursor() int64 { return w.cursor }

// Err is why Next returned false; nil after Close.
func (w *Watcher) Err() error { return w.err }

// Close ends the stream. Call it from the goroutine that calls Next; to
// stop a Next that is waiting, cancel its context.
func (w *Watcher) Close() {
	w.closed = true
	w.drop()
}
