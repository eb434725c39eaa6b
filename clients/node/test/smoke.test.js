// Smoke test against a running Bento server: BENTO_ADDRESS, PLATFORM_KEY and
// STREAMFLIX_KEY come from `bento demo` (tests/test_node_client.py sets them).
// Subscribes, pays, exchanges an activation code, and reads the event stream.

import test from "node:test";
import assert from "node:assert/strict";
import { connect } from "../index.js";

const address = process.env.BENTO_ADDRESS;

test("subscribe, pay, exchange a code, watch the events", { skip: !address }, async () => {
  const platform = connect(address, process.env.PLATFORM_KEY);
  const publisher = connect(address, process.env.STREAMFLIX_KEY);
  try {
    const { plans } = await platform.call("CatalogService", "ListPlans", {});
    assert.equal(plans.length, 1);
    const created = await platform.call("SubscriptionService", "CreateSubscription", {
      session_id: "node-user",
      plan_id: plans[0].plan_id,
    });
    assert.equal(created.subscription.status, "SUBSCRIPTION_STATUS_PENDING");
    const { subscription_id } = created.subscription;

    const paid = await platform.call("PaymentService", "CreatePayment", {
      subscription_id,
      invoice_id: created.invoice.invoice_id,
      amount: created.invoice.amounts.total_amount,
      currency: "USD",
      status: "PAYMENT_RECORD_STATUS_SUCCEEDED",
    });
    assert.equal(paid.activation_urls.length, 2);
    const code = paid.activation_urls[0].activation_url.match(/AC_[A-Z0-9]{8}_[A-Z0-9]{8}/)[0];

    const exchanged = await publisher.call("ActivationService", "ExchangeActivationCode", { activation_code: code });
    assert.equal(exchanged.subscription_id, subscription_id);
    assert.match(exchanged.jti, /^at_/);

    await assert.rejects(
      publisher.call("ActivationService", "ExchangeActivationCode", { activation_code: code }),
      (error) => error.reason === "activation_code_already_used",
    );

    const seen = [];
    await new Promise((resolve, reject) => {
      const stream = platform.watch({ subscription_id });
      stream.on("data", (message) => {
        if (message.event) seen.push(message.event.type);
        if (message.heartbeat) {
          stream.cancel();
          resolve();
        }
      });
      stream.on("error", (error) => (error.code === 1 ? resolve() : reject(error)));
    });
    assert.deepEqual(seen, [
      "subscription.created",
      "invoice.created",
      "payment.succeeded",
      "invoice.paid",
      "subscription.activated",
      "activation.session.created",
      "activation.item.updated",
    ]);
  } finally {
    platform.close();
    publisher.close();
  }
});
