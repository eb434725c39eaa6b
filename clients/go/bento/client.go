// Package bento is a Go client for Bento.
//
//	client, err := bento.Dial("127.0.0.1:50051", "AK...:secret")
//	if err != nil { ... }
//	defer client.Close()
//	plans := bento.Pages(ctx, client.Catalog.ListPlans, &bentov1.ListPlansRequest{},
//		(*bentov1.ListPlansResponse).GetPlans)
//	for plans.Next() {
//		fmt.Println(plans.Item().GetName())
//	}
//	if err := plans.Err(); err != nil { ... }
//
// Every service of bento.v1 is a field of Client. A call through one sends
// the credential, gives every mutating call an idempotency-key (reused by the
// retries of that call, so a retry never acts twice), retries UNAVAILABLE
// with exponential backoff inside the call's deadline, and fails with an
// *Error that carries Bento's reason and the bad fields. This is the policy
// of the Python client (clients/python/bento/client.py).
package bento

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"time"

	bentov1 "bento/clients/go/bentopb/bento/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
)

// Client holds one connection and a typed client per service.
type Client struct {
	conn *grpc.ClientConn

	Tenants       bentov1.TenantServiceClient
	Catalog       bentov1.CatalogServiceClient
	Subscriptions bentov1.SubscriptionServiceClient
	Invoices      bentov1.InvoiceServiceClient
	Payments      bentov1.PaymentServiceClient
	Activation    bentov1.ActivationServiceClient
	Entitlements  bentov1.EntitlementServiceClient
	Events        bentov1.EventServiceClient
	TestClock     bentov1.TestClockServiceClient
	Webhooks      bentov1.WebhookServiceClient
	Settlement    bentov1.SettlementServiceClient

	timeout time.Duration
	retries int
}

type options struct {
	tls     *tls.Config
	timeout time.Duration
	retries int
	dial    []grpc.DialOption
}

// An Option changes how Dial connects or how calls behave.
type Option func(*options)

// WithTLS connects over TLS with config (nil: the system's roots).
func WithTLS(config *tls.Config) Option {
	return func(o *options) {
		if config == nil {
			config = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.tls = config
	}
}

// WithTimeout is the deadline of a unary call whose context has none,
// retries included. The default is 30 seconds.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithRetries is how many times a call that failed UNAVAILABLE is tried
// again. The default is 4.
func WithRetries(n int) Option {
	return func(o *options) { o.retries = n }
}

// WithDialOptions passes options to grpc.Dial, after the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, opts...) }
}

// Dial connects to address ("host:port") with credential "KEY_ID:SECRET"
// (empty: no credential). It does not wait for the server: the first call
// does, within its deadline.
func Dial(address, credential string, opts ...Option) (*Client, error) {
	o := options{timeout: 30 * time.Second, retries: 4}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{timeout: o.timeout, retries: o.retries}
	dial := []grpc.DialOption{
		// gRPC's reconnect backoff grows to two minutes by default; a
		// restarted Bento should be found again within seconds.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
			MinConnectTimeout: 20 * time.Second,
		}),
		grpc.WithChainUnaryInterceptor(c.unary),
	}
	if o.tls != nil {
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(o.tls)))
	} else {
		dial = append(dial, grpc.WithInsecure())
	}
	if credential != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(basicAuth{
			header: "Basic " + base64.StdEncoding.EncodeToString([]byte(credential)),
			tls:    o.tls != nil,
		}))
	}
	conn, err := grpc.Dial(address, append(dial, o.dial...)...)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	c.Tenants = bentov1.NewTenantServiceClient(conn)
	c.Catalog = bentov1.NewCatalogServiceClient(conn)
	c.Subscriptions = bentov1.NewSubscriptionServiceClient(conn)
	c.Invoices = bentov1.NewInvoiceServiceClient(conn)
	c.Payments = bentov1.NewPaymentServiceClient(conn)
	c.Activation = bentov1.NewActivationServiceClient(conn)
	c.Entitlements = bentov1.NewEntitlementServiceClient(conn)
	c.Events = bentov1.NewEventServiceClient(conn)
	c.TestClock = bentov1.NewTestClockServiceClient(conn)
	c.Webhooks = bentov1.NewWebhookServiceClient(conn)
	c.Settlement = bentov1.NewSettlementServiceClient(conn)
	return c, nil
}

// Conn is the underlying connection, for services this package does not
// wrap.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; calls in flight fail.
func (c *Client) Close() error { return c.conn.Close() }

// basicAuth sends the key the way the server reads it:
// "authorization: Basic base64(KEY_ID:SECRET)".
type basicAuth struct {
	header string
	tls    bool
}

func (b basicAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.header}, nil
}

// RequireTransportSecurity is false on a plaintext connection so that a
// local server (bento serve without TLS) can be called, as the other
// clients allow; with WithTLS gRPC refuses to send it in the clear.
func (b basicAuth) RequireTransportSecurity() bool { return b.tls }
