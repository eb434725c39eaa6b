export {
  BentoClient,
  connect,
  type BentoCallOptions,
  type ConnectOptions,
  type ServiceClient,
  type WatchOptions,
} from "./client.js";
export { BentoError } from "./errors.js";
export { Code } from "@connectrpc/connect";
export * from "./gen/bento/v1/activation_pb.js";
export * from "./gen/bento/v1/catalog_pb.js";
export * from "./gen/bento/v1/common_pb.js";
export * from "./gen/bento/v1/entitlement_pb.js";
export * from "./gen/bento/v1/enums_pb.js";
export * from "./gen/bento/v1/event_pb.js";
export * from "./gen/bento/v1/invoice_pb.js";
export * from "./gen/bento/v1/payment_pb.js";
export * from "./gen/bento/v1/settlement_pb.js";
export * from "./gen/bento/v1/subscription_pb.js";
export * from "./gen/bento/v1/tenant_pb.js";
export * from "./gen/bento/v1/test_clock_pb.js";
export * from "./gen/bento/v1/webhook_pb.js";
