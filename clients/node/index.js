// A Node client for Bento, loaded at run time from the same protos as the
// server (protos/bento/v1), so it never drifts from the contract.
//
//   import { connect } from "bento-client-node";
//   const bento = connect("127.0.0.1:50051", "KEY_ID:SECRET");
//   const { plans } = await bento.call("CatalogService", "ListPlans", {});
//
// Every unary call sends the credential and, for mutating RPCs, an
// idempotency-key; failures reject with an Error carrying `code` (gRPC),
// `reason` (Bento's ErrorInfo reason) and `details`.

import { fileURLToPath } from "node:url";
import path from "node:path";
import crypto from "node:crypto";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
const PROTOS = path.resolve(here, "../../protos");
const SERVICES = [
  "TenantService", "CatalogService", "SubscriptionService", "InvoiceService",
  "PaymentService", "ActivationService", "EntitlementService", "EventService",
  "TestClockService", "WebhookService", "SettlementService",
];
const READS = /^(Get|List|Check|Watch)/;

function load() {
  const files = SERVICES.map((s) => `bento/v1/${s.replace("Service", "").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()}.proto`);
  const definition = protoLoader.loadSync(files, {
    includeDirs: [PROTOS],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).bento.v1;
}

// The reason of google.rpc.ErrorInfo in a status's details, if any.
function reasonOf(error) {
  const raw = error.metadata?.get("grpc-status-details-bin")?.[0];
  if (!raw) return "";
  const text = Buffer.from(raw).toString("latin1");
  const match = text.match(/google\.rpc\.ErrorInfo[\s\S]*?\n[\s\S]([a-z_]+)\x12\x05bento/);
  return match ? match[1] : "";
}

export function connect(address, credential) {
  const v1 = load();
  const clients = Object.fromEntries(
    SERVICES.map((name) => [name, new v1[name](address, grpc.credentials.createInsecure())]),
  );
  const metadata = (mutating) => {
    const m = new grpc.Metadata();
    m.set("authorization", "Basic " + Buffer.from(credential).toString("base64"));
    if (mutating) m.set("idempotency-key", crypto.randomUUID());
    return m;
  };
  return {
    call(service, method, request) {
      return new Promise((resolve, reject) => {
        clients[service][method](request, metadata(!READS.test(method)), { deadline: Date.now() + 30000 }, (error, response) => {
          if (error) {
            error.reason = reasonOf(error);
            reject(error);
          } else {
            resolve(response);
          }
        });
      });
    },
    watch(request) {
      return clients.EventService.WatchEvents(request, metadata(false));
    },
    close() {
      Object.values(clients).forEach((c) => c.close());
    },
  };
}
