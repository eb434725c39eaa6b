package bento

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a call that failed: its gRPC code, Bento's reason and the bad
// fields, decoded from the google.rpc.Status the server sends in the
// grpc-status-details-bin trailer. Every call through a Client fails with
// one; errors gRPC made itself (no connection, deadline) have an empty
// Reason.
type Error struct {
	Code    codes.Code
	Message string
	// Reason is ErrorInfo.reason, such as "plan_not_found" or
	// "invoice_already_paid" (the RPCs' doc comments in protos/ list them).
	Reason string
	// Domain is ErrorInfo.domain, "bento" for the server's own errors.
	Domain string
	// Metadata is ErrorInfo.metadata, such as "oldest_sequence" of
	// events_pruned.
	Metadata map[string]string
	// FieldViolations maps each bad field of the request (BadRequest) to
	// what is wrong with it.
	FieldViolations map[string]string

	status *status.Status
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s %s: %s", e.Code, e.Reason, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// GRPCStatus lets status.Code and status.FromError read an *Error as the
// status it came from.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// AsError is err as an *Error: the one a Client returned, or one decoded
// from any gRPC status error. It is false for nil and for errors that
// carry no gRPC status.
func AsError(err error) (*Error, bool) {
	if err == nil {
		return nil, false
	}
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	if _, ok := status.FromError(err); !ok {
		return nil, false
	}
	return toError(err).(*Error), true
}

// toError decodes err's status; a context error becomes CANCELED or
// DEADLINE_EXCEEDED rather than UNKNOWN.
func toError(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	st, ok := status.FromError(err)
	if !ok && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		st = status.FromContextError(err)
	}
	e = &Error{
		Code:            st.Code(),
		Message:         st.Message(),
		Metadata:        map[string]string{},
		FieldViolations: map[string]string{},
		status:          st,
	}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			e.Reason, e.Domain = d.GetReason(), d.GetDomain()
			for k, v := range d.GetMetadata() {
				e.Metadata[k] = v
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.FieldViolations[v.GetField()] = v.GetDescription()
			}
		}
	}
	return e
}
