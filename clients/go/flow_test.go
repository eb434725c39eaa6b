package flow_test

// The seed's flow through the Go client against a real server: the
// address and the keys come from `bento demo` (tests/test_go_client.py
// starts the server and sets them).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"bento/clients/go/bento"
	bentov1 "bento/clients/go/bentopb/bento/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

var activationCode = regexp.MustCompile(`AC_[A-Z0-9]{8}_[A-Z0-9]{8}`)

// The events of one subscription from CreateSubscription to a code
// exchanged, in the order they commit.
var flowEvents = []string{
	"subscription.created",
	"invoice.created",
	"payment.succeeded",
	"invoice.paid",
	"subscription.activated",
	"activation.session.created",
	"activation.item.updated",
}

func random(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

func env(t *testing.T) (address, platformKey, publisherKey string) {
	t.Helper()
	names := []string{"BENTO_ADDRESS", "PLATFORM_KEY", "STREAMFLIX_KEY"}
	var missing []string
	values := map[string]string{}
	for _, name := range names {
		if values[name] = os.Getenv(name); values[name] == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		// A failure, not a skip: a run that quietly tested nothing would pass.
		t.Fatalf("the flow test needs a server: set %s (missing %s) from `bento demo`, "+
			"or run tests/test_go_client.py, which starts one",
			strings.Join(names, ", "), strings.Join(missing, ", "))
	}
	return values["BENTO_ADDRESS"], values["PLATFORM_KEY"], values["STREAMFLIX_KEY"]
}

func dial(t *testing.T, address, key string) *bento.Client {
	t.Helper()
	client, err := bento.Dial(address, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// refused asserts that err is a refusal with code and reason.
func refused(t *testing.T, what string, err error, code codes.Code, reason string) {
	t.Helper()
	e, ok := bento.AsError(err)
	if !ok {
		t.Fatalf("%s: want %v %s, got %v", what, code, reason, err)
	}
	if e.Code != code || e.Reason != reason || e.Domain != "bento" {
		t.Errorf("%s: want %v %s, got %v (domain %q)", what, code, reason, e, e.Domain)
	}
}

func TestFlow(t *testing.T) {
	address, platformKey, publisherKey := env(t)
	platform := dial(t, address, platformKey)
	publisher := dial(t, address, publisherKey)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	plans, err := bento.Pages(ctx, platform.Catalog.ListPlans, &bentov1.ListPlansRequest{},
		(*bentov1.ListPlansResponse).GetPlans).All()
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) == 0 {
		t.Fatal("the demo platform has no plan")
	}
	plan := plans[0]

	// A session of its own, so a second run against the same server starts
	// from a user with nothing.
	session := random("go-user-")
	created, err := platform.Subscriptions.CreateSubscription(ctx, &bentov1.CreateSubscriptionRequest{
		SessionId: session, PlanId: plan.GetPlanId(),
	})
	if err != nil {
		t.Fatal(err)
	}
	subscription := created.GetSubscription()
	if subscription.GetStatus() != bentov1.SubscriptionStatus_SUBSCRIPTION_STATUS_PENDING {
		t.Errorf("a new subscription is %v", subscription.GetStatus())
	}
	subscriptionID := subscription.GetSubscriptionId()

	invoice := created.GetInvoice()
	paid, err := platform.Payments.CreatePayment(ctx, &bentov1.CreatePaymentRequest{
		SubscriptionId: subscriptionID,
		InvoiceId:      invoice.GetInvoiceId(),
		Amount:         invoice.GetAmounts().GetTotalAmount(),
		Currency:       "USD",
		Status:         bentov1.PaymentRecordStatus_PAYMENT_RECORD_STATUS_SUCCEEDED,
	})
	if err != nil {
		t.Fatal(err)
	}
	urls := paid.GetActivationUrls()
	if len(urls) != 2 {
		t.Fatalf("want an activation URL per app of the bundle, got %v", urls)
	}
	var streamflix *bentov1.ActivationUrl
	for _, url := range urls {
		if strings.Contains(url.GetActivationUrl(), "streamflix") {
			streamflix = url
		}
	}
	if streamflix == nil {
		t.Fatalf("no StreamFlix activation URL in %v", urls)
	}
	code := activationCode.FindString(streamflix.GetActivationUrl())
	if code == "" {
		t.Fatalf("no activation code in %q", streamflix.GetActivationUrl())
	}

	exchanged, err := publisher.Activation.ExchangeActivationCode(ctx, &bentov1.ExchangeActivationCodeRequest{ActivationCode: code})
	if err != nil {
		t.Fatal(err)
	}
	if exchanged.GetSubscriptionId() != subscriptionID || !strings.HasPrefix(exchanged.GetJti(), "at_") {
		t.Errorf("exchanged %v", exchanged)
	}
	_, err = publisher.Activation.ExchangeActivationCode(ctx, &bentov1.ExchangeActivationCodeRequest{ActivationCode: code})
	if e, ok := bento.AsError(err); !ok || e.Reason != "activation_code_already_used" {
		t.Errorf("a second exchange of one code: want activation_code_already_used, got %v", err)
	}

	access, err := platform.Entitlements.CheckAccess(ctx, &bentov1.CheckAccessRequest{
		SessionId: session, Target: &bentov1.CheckAccessRequest_ProductId{ProductId: streamflix.GetProductId()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !access.GetAllowed() || access.GetSubscriptionId() != subscriptionID {
		t.Errorf("a paid subscription grants no access: %v", access)
	}

	// Two events a page, so the helper has to follow next_page_token.
	listed, err := bento.Pages(ctx, platform.Events.ListEvents,
		&bentov1.ListEventsRequest{SubscriptionId: subscriptionID, PageSize: 2},
		(*bentov1.ListEventsResponse).GetEvents).All()
	if err != nil {
		t.Fatal(err)
	}
	var listedTypes []string
	for _, event := range listed {
		listedTypes = append(listedTypes, event.GetType())
	}
	if strings.Join(listedTypes, " ") != strings.Join(flowEvents, " ") {
		t.Errorf("ListEvents gave %v, want %v", listedTypes, flowEvents)
	}

	watchCtx, stopWatching := context.WithTimeout(ctx, 20*time.Second)
	defer stopWatching()
	watch := platform.Watch(watchCtx, &bentov1.WatchEventsRequest{SubscriptionId: subscriptionID})
	defer watch.Close()
	var watched []*bentov1.Event
	for len(watched) < len(flowEvents) && watch.Next() {
		watched = append(watched, watch.Event())
	}
	if len(watched) < len(flowEvents) {
		t.Fatalf("the watch stopped after %d events: %v", len(watched), watch.Err())
	}
	for i, event := range watched {
		if event.GetType() != flowEvents[i] {
			t.Errorf("event %d is %s, want %s", i, event.GetType(), flowEvents[i])
		}
		if i > 0 && event.GetSequence() <= watched[i-1].GetSequence() {
			t.Errorf("event %d (sequence %d) is not after the one before it", i, event.GetSequence())
		}
		if i < len(listed) && event.GetSequence() != listed[i].GetSequence() {
			t.Errorf("event %d: the watch has sequence %d, ListEvents %d", i, event.GetSequence(), listed[i].GetSequence())
		}
		if strings.HasPrefix(event.GetType(), "subscription.") {
			// The typed payload, not the deprecated data Struct.
			if got := event.GetSubscription().GetSubscriptionId(); got != subscriptionID {
				t.Errorf("%s (sequence %d): payload is %T with subscription %q, want a Subscription %s",
					event.GetType(), event.GetSequence(), event.GetPayload(), got, subscriptionID)
			}
		}
	}

	_, err = platform.Subscriptions.GetSubscription(ctx, &bentov1.GetSubscriptionRequest{SubscriptionId: "SUB" + strings.ToUpper(random(""))})
	refused(t, "GetSubscription of an unknown ID", err, codes.NotFound, "subscription_not_found")

	// A retry of one logical call with its key is answered once: the same
	// subscription twice, and only one made.
	retried := random("go-retry-")
	key := random("go-key-")
	request := &bentov1.CreateSubscriptionRequest{SessionId: retried, PlanId: plan.GetPlanId()}
	first, err := platform.Subscriptions.CreateSubscription(bento.WithIdempotencyKey(ctx, key), request)
	if err != nil {
		t.Fatal(err)
	}
	again, err := platform.Subscriptions.CreateSubscription(bento.WithIdempotencyKey(ctx, key), request)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(first, again) {
		t.Errorf("a retry with the same key answered differently:\n%v\n%v", first, again)
	}
	made, err := bento.Pages(ctx, platform.Subscriptions.ListSubscriptions,
		&bentov1.ListSubscriptionsRequest{SessionId: retried},
		(*bentov1.ListSubscriptionsResponse).GetSubscriptions).All()
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != 1 {
		t.Errorf("a call retried with one key made %d subscriptions", len(made))
	}
}
