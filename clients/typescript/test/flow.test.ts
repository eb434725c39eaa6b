// The seed's flow against a running Bento server: BENTO_ADDRESS,
// PLATFORM_KEY and STREAMFLIX_KEY come from `bento demo`
// (tests/test_typescript_client.py sets them). Every run subscribes a new
// session, so it can run any number of times against one server.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  BentoError,
  connect,
  PaymentRecordStatus,
  SubscriptionStatus,
  type BentoClient,
  type Event,
} from "../src/index.js";

const NEEDED = ["BENTO_ADDRESS", "PLATFORM_KEY", "STREAMFLIX_KEY"] as const;
const missing = NEEDED.filter((name) => !process.env[name]);
const env = (name: (typeof NEEDED)[number]): string => process.env[name] ?? "";

// A run without a server must say so, not pass by testing nothing.
if (missing.length > 0) {
  test("the flow needs a server", () => {
    assert.fail(
      `set ${missing.join(", ")} (a running server's host:port and the keys ` +
        "`bento demo` prints) to run the flow; tests/test_typescript_client.py does",
    );
  });
} else {
  test("subscribe, pay, exchange a code, read and watch the events", async () => {
    await withClients(async (platform, publisher) => {
      const sessionId = `ts-${randomUUID()}`;

      const plans = [];
      for await (const plan of platform.pages(platform.catalog.listPlans, {}, "plans")) {
        plans.push(plan);
      }
      assert.ok(plans.length >= 1, "the demo platform has a plan");
      const planId = plans[0]!.planId;

      const created = await platform.subscriptions.createSubscription({ sessionId, planId });
      const subscription = created.subscription!;
      assert.equal(subscription.status, SubscriptionStatus.PENDING);
      const subscriptionId = subscription.subscriptionId;
      const invoice = created.invoice!;

      const paid = await platform.payments.createPayment({
        subscriptionId,
        invoiceId: invoice.invoiceId,
        amount: invoice.amounts!.totalAmount,
        currency: "USD",
        status: PaymentRecordStatus.SUCCEEDED,
      });
      assert.equal(paid.activationUrls.length, 2);
      const code = activationCode(paid.activationUrls[0]!.activationUrl);

      const exchanged = await publisher.activation.exchangeActivationCode({ activationCode: code });
      assert.equal(exchanged.subscriptionId, subscriptionId);
      assert.match(exchanged.jti, /^at_/);

      const again = await refusal(
        publisher.activation.exchangeActivationCode({ activationCode: code }),
      );
      assert.equal(again.reason, "activation_code_already_used");
      assert.equal(again.domain, "bento");

      // The platform asks whether its session may use the app's product.
      const access = await platform.entitlements.checkAccess({
        sessionId,
        target: { case: "productId", value: exchanged.productId },
      });
      assert.equal(access.allowed, true);
      assert.equal(access.subscriptionId, subscriptionId);

      const expected = [
        "subscription.created",
        "invoice.created",
        "payment.succeeded",
        "invoice.paid",
        "subscription.activated",
        "activation.session.created",
        "activation.item.updated",
      ];

      // Two to a page, so the walk has to follow next_page_token.
      const listed: Event[] = [];
      for await (const event of platform.pages(
        platform.events.listEvents,
        { subscriptionId, pageSize: 2 },
        "events",
      )) {
        listed.push(event);
      }
      assert.deepEqual(
        listed.map((event) => event.type),
        expected,
      );

      // The first heartbeat marks the end of the replay of stored events.
      const watched: Event[] = [];
      for await (const item of platform.watch({ subscriptionId, heartbeats: true })) {
        if (item.$typeName === "bento.v1.Heartbeat") break;
        watched.push(item);
      }
      assert.deepEqual(
        watched.map((event) => event.type),
        expected,
      );
      assert.deepEqual(
        watched.map((event) => event.sequence),
        listed.map((event) => event.sequence),
      );
      const subscriptionEvents = watched.filter((event) => event.type.startsWith("subscription."));
      assert.equal(subscriptionEvents.length, 2);
      for (const event of subscriptionEvents) {
        assert.equal(event.payload.case, "subscription", `${event.type} carries its subscription`);
        assert.equal(event.payload.value.subscriptionId, subscriptionId);
      }
    });
  });

  test("a refused call says its code and reason", async () => {
    await withClients(async (platform) => {
      const refused = await refusal(
        platform.subscriptions.getSubscription({ subscriptionId: "SU0000000000000000000" }),
      );
      assert.equal(refused.code, Code.NotFound);
      assert.equal(refused.codeName, "NOT_FOUND");
      assert.equal(refused.reason, "subscription_not_found");

      const invalid = await refusal(
        platform.subscriptions.createSubscription({ sessionId: "", planId: "" }),
      );
      assert.equal(invalid.code, Code.InvalidArgument);
      assert.ok(Object.keys(invalid.fieldViolations).length > 0, invalid.message);
    });
  });

  test("a mutation whose answer was lost is retried with its key and done once", async () => {
    // The first attempt reaches the server and commits; its answer is then
    // dropped as a broken connection would drop it.
    const keys: (string | null)[] = [];
    let firstAnswer: string | undefined;
    const loseFirstAnswer: Interceptor = (next) => async (request) => {
      if (request.method.name !== "CreateSubscription") return next(request);
      keys.push(request.header.get("idempotency-key"));
      const response = await next(request);
      if (keys.length === 1 && !response.stream) {
        const message = response.message as { subscription?: { subscriptionId: string } };
        firstAnswer = message.subscription?.subscriptionId;
        throw new ConnectError("the answer was lost", Code.Unavailable);
      }
      return response;
    };
    const flaky = connect(env("BENTO_ADDRESS"), env("PLATFORM_KEY"), {
      interceptors: [loseFirstAnswer],
    });
    try {
      const sessionId = `ts-${randomUUID()}`;
      const [plan] = (await flaky.catalog.listPlans({})).plans;
      const created = await flaky.subscriptions.createSubscription({
        sessionId,
        planId: plan!.planId,
      });
      assert.equal(keys.length, 2, "tried twice");
      assert.ok(keys[0], "a mutation carries an idempotency-key");
      assert.equal(keys[1], keys[0], "the retry reuses the call's key");
      assert.equal(created.subscription!.subscriptionId, firstAnswer);

      const subscriptions = [];
      for await (const event of flaky.pages(
        flaky.events.listEvents,
        { sessionId, types: ["subscription.created"] },
        "events",
      )) {
        subscriptions.push(event.subscriptionId);
      }
      assert.deepEqual(subscriptions, [firstAnswer], "one subscription for the two attempts");

      // A read is never keyed: the server would refuse nothing, but a key on
      // a read would mean the client took it for a mutation.
      keys.length = 0;
      const readKeys: (string | null)[] = [];
      const watchReads: Interceptor = (next) => async (request) => {
        readKeys.push(request.header.get("idempotency-key"));
        return next(request);
      };
      const reader = connect(env("BENTO_ADDRESS"), env("PLATFORM_KEY"), {
        interceptors: [watchReads],
      });
      try {
        await reader.catalog.listPlans({});
        await reader.subscriptions.getSubscription({ subscriptionId: firstAnswer! });
      } finally {
        reader.close();
      }
      assert.deepEqual(readKeys, [null, null]);
    } finally {
      flaky.close();
    }
  });
}

async function withClients(
  body: (platform: BentoClient, publisher: BentoClient) => Promise<void>,
): Promise<void> {
  const platform = connect(env("BENTO_ADDRESS"), env("PLATFORM_KEY"));
  const publisher = connect(env("BENTO_ADDRESS"), env("STREAMFLIX_KEY"));
  try {
    await body(platform, publisher);
  } finally {
    platform.close();
    publisher.close();
  }
}

/** The BentoError `call` must fail with. */
async function refusal(call: Promise<unknown>): Promise<BentoError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof BentoError, `not a BentoError: ${String(error)}`);
    return error;
  }
  assert.fail("the call succeeded; it should have been refused");
}

/** The code in an activation URL: AC_XXXXXXXX_XXXXXXXX. */
function activationCode(url: string): string {
  const code = /AC_[A-Z0-9]{8}_[A-Z0-9]{8}/.exec(url)?.[0];
  assert.ok(code, `no activation code in ${url}`);
  return code;
}
