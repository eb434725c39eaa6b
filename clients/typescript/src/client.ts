/**
 * A TypeScript client for Bento.
 *
 *     import { connect } from "bento-client";
 *
 *     const bento = connect("127.0.0.1:50051", "AK...:secret");
 *     for await (const plan of bento.pages(bento.catalog.listPlans, {}, "plans")) {
 *       console.log(plan.name);
 *     }
 *     bento.close();
 *
 * Every service of bento.v1 is a property (`tenants`, `catalog`,
 * `subscriptions`, `invoices`, `payments`, `activation`, `entitlements`,
 * `events`, `testClock`, `webhooks`, `settlement`); calling one of its
 * methods sends the credential, gives every mutating call an
 * `idempotency-key` (reused by the retries of that call, so a retry never
 * acts twice), retries UNAVAILABLE with exponential backoff inside the
 * call's deadline, and rejects with `BentoError` for every failure.
 */

import { randomUUID } from "node:crypto";
import { Buffer } from "node:buffer";
import {
  create,
  type DescMethod,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createClient,
  type CallOptions,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

import { BentoError } from "./errors.js";
import { ActivationService } from "./gen/bento/v1/activation_pb.js";
import { CatalogService } from "./gen/bento/v1/catalog_pb.js";
import { EntitlementService } from "./gen/bento/v1/entitlement_pb.js";
import {
  EventService,
  WatchEventsRequestSchema,
  type Event,
  type Heartbeat,
} from "./gen/bento/v1/event_pb.js";
import { InvoiceService } from "./gen/bento/v1/invoice_pb.js";
import { PaymentService } from "./gen/bento/v1/payment_pb.js";
import { SettlementService } from "./gen/bento/v1/settlement_pb.js";
import { SubscriptionService } from "./gen/bento/v1/subscription_pb.js";
import { TenantService } from "./gen/bento/v1/tenant_pb.js";
import { TestClockService } from "./gen/bento/v1/test_clock_pb.js";
import { WebhookService } from "./gen/bento/v1/webhook_pb.js";

export interface ConnectOptions {
  /** HTTPS to the server; the system's roots unless `rootCertificates`. */
  tls?: boolean;
  /** PEM roots to trust instead of the system's. */
  rootCertificates?: string | Buffer;
  /** Each call's deadline in milliseconds, retries included. */
  timeoutMs?: number;
  /** How many times a call that met UNAVAILABLE is tried again. */
  retries?: number;
  /** Run on every attempt of every call, after the client's own headers are set. */
  interceptors?: Interceptor[];
}

export interface BentoCallOptions extends CallOptions {
  /**
   * The key of this logical call, for a caller that retries on its own
   * (after a crash, say) and must not act twice. Mutations get a fresh one
   * otherwise; reads send none.
   */
  idempotencyKey?: string;
}

/** A service's methods, called through the client's policy. */
export type ServiceClient<S extends DescService> = {
  [P in keyof S["method"]]: S["method"][P] extends DescMethodUnary<infer I, infer O>
    ? (request: MessageInitShape<I>, options?: BentoCallOptions) => Promise<MessageShape<O>>
    : S["method"][P] extends DescMethodServerStreaming<infer I, infer O>
      ? (request: MessageInitShape<I>, options?: CallOptions) => AsyncIterable<MessageShape<O>>
      : never;
};

export interface WatchOptions {
  /** Start after this sequence; 0 for every event the server keeps. */
  afterSequence?: bigint;
  /** Only events of these types; empty for all. */
  types?: string[];
  /** Only events of this subscription. */
  subscriptionId?: string;
  /** Ends the watch (the iterator returns). */
  signal?: AbortSignal;
}

/** The keys of a response that hold a list (not `$unknown`). */
type ListKeys<O> = {
  [K in keyof O]: K extends `$${string}` ? never : O[K] extends readonly unknown[] ? K : never;
}[keyof O];
type ItemOf<L> = L extends readonly (infer T)[] ? T : never;

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 4;
const FIRST_DELAY_MS = 100;
const WATCH_MAX_DELAY_MS = 5_000;

export class BentoClient {
  readonly tenants: ServiceClient<typeof TenantService>;
  readonly catalog: ServiceClient<typeof CatalogService>;
  readonly subscriptions: ServiceClient<typeof SubscriptionService>;
  readonly invoices: ServiceClient<typeof InvoiceService>;
  readonly payments: ServiceClient<typeof PaymentService>;
  readonly activation: ServiceClient<typeof ActivationService>;
  readonly entitlements: ServiceClient<typeof EntitlementService>;
  readonly events: ServiceClient<typeof EventService>;
  readonly testClock: ServiceClient<typeof TestClockService>;
  readonly webhooks: ServiceClient<typeof WebhookService>;
  readonly settlement: ServiceClient<typeof SettlementService>;

  readonly timeoutMs: number;
  readonly retries: number;
  private readonly authorization: string | undefined;
  private readonly sessions: Http2SessionManager;
  private readonly transport: Transport;

  constructor(address: string, apiKey: string | undefined, options: ConnectOptions = {}) {
    // The server reads `authorization: Basic base64(KEY_ID:SECRET)`, as the
    // Python client sends it.
    this.authorization = apiKey
      ? "Basic " + Buffer.from(apiKey, "utf8").toString("base64")
      : undefined;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    const baseUrl = `${options.tls ? "https" : "http"}://${address}`;
    // One HTTP/2 connection for every service, so close() can end it.
    this.sessions = new Http2SessionManager(
      baseUrl,
      undefined,
      options.rootCertificates ? { ca: options.rootCertificates } : undefined,
    );
    this.transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.sessions,
      interceptors: options.interceptors ?? [],
    });
    this.tenants = this.service(TenantService);
    this.catalog = this.service(CatalogService);
    this.subscriptions = this.service(SubscriptionService);
    this.invoices = this.service(InvoiceService);
    this.payments = this.service(PaymentService);
    this.activation = this.service(ActivationService);
    this.entitlements = this.service(EntitlementService);
    this.events = this.service(EventService);
    this.testClock = this.service(TestClockService);
    this.webhooks = this.service(WebhookService);
    this.settlement = this.service(SettlementService);
  }

  /** Ends the connection; calls in flight fail. */
  close(): void {
    this.sessions.abort();
  }

  /**
   * Every item of a List call, page after page: `field` names the list in
   * the response ("plans", "invoices", ...). Each page is its own call, with
   * its own deadline and retries.
   */
  async *pages<
    I extends { pageToken?: string },
    O extends { nextPageToken: string },
    K extends ListKeys<O>,
  >(
    call: (request: I, options?: BentoCallOptions) => Promise<O>,
    request: I,
    field: K,
    options?: BentoCallOptions,
  ): AsyncGenerator<ItemOf<O[K]>, void, undefined> {
    let page: I = request;
    for (;;) {
      const response = await call(page, options);
      yield* response[field] as Iterable<ItemOf<O[K]>>;
      if (!response.nextPageToken) return;
      page = { ...page, pageToken: response.nextPageToken };
    }
  }

  /**
   * Events after `afterSequence`, then new ones as they commit, forever. A
   * stream the server ended or lost (UNAVAILABLE) is reopened from the last
   * sequence seen, so nothing is missed or repeated. With `heartbeats` the
   * stream's heartbeats are yielded too: the first one marks the end of the
   * replay of stored events.
   *
   * It stops with a BentoError when reopening cannot help: the cursor is
   * older than what the server keeps (FAILED_PRECONDITION `events_pruned`;
   * `metadata.oldest_sequence` says where to resync from) or beyond its
   * newest event (OUT_OF_RANGE `cursor_ahead_of_log`), the key was revoked,
   * or the subscription is not the caller's.
   */
  watch(options?: WatchOptions & { heartbeats?: false }): AsyncGenerator<Event, void, undefined>;
  watch(
    options: WatchOptions & { heartbeats: true },
  ): AsyncGenerator<Event | Heartbeat, void, undefined>;
  async *watch(
    options: WatchOptions & { heartbeats?: boolean } = {},
  ): AsyncGenerator<Event | Heartbeat, void, undefined> {
    const { signal } = options;
    const raw = createClient(EventService, this.transport);
    let cursor = options.afterSequence ?? 0n;
    let delay = FIRST_DELAY_MS;
    while (!signal?.aborted) {
      const request = create(WatchEventsRequestSchema, {
        afterSequence: cursor,
        types: options.types ?? [],
        subscriptionId: options.subscriptionId ?? "",
      });
      try {
        for await (const message of raw.watchEvents(request, {
          headers: this.headers(undefined),
          signal,
        })) {
          delay = FIRST_DELAY_MS;
          if (message.kind.case === "event") {
            cursor = message.kind.value.sequence;
            yield message.kind.value;
          } else if (message.kind.case === "heartbeat") {
            // Events the stream may not see move the head too: starting
            // from it skips them on the next open.
            if (message.kind.value.newestSequence > cursor) {
              cursor = message.kind.value.newestSequence;
            }
            if (options.heartbeats) yield message.kind.value;
          }
        }
      } catch (error) {
        if (signal?.aborted) return;
        const failed = ConnectError.from(error);
        // A server that dies resets its streams with RST_STREAM CANCEL,
        // which Connect reads as CANCELED although this side cancelled
        // nothing (our own abort returned above).
        if (failed.code !== Code.Unavailable && failed.code !== Code.Canceled) {
          throw new BentoError(failed);
        }
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, WATCH_MAX_DELAY_MS);
    }
  }

  private headers(idempotencyKey: string | undefined, init?: CallOptions["headers"]): Headers {
    const headers = new Headers(init);
    if (this.authorization) headers.set("authorization", this.authorization);
    if (idempotencyKey) headers.set("idempotency-key", idempotencyKey);
    return headers;
  }

  private service<S extends DescService>(service: S): ServiceClient<S> {
    const raw = createClient(service, this.transport) as unknown as Record<
      string,
      (request: unknown, options?: CallOptions) => unknown
    >;
    const wrapped: Record<string, unknown> = {};
    for (const method of service.methods) {
      const call = raw[method.localName];
      if (call === undefined) continue;
      if (method.methodKind === "unary") {
        wrapped[method.localName] = (request: unknown, options?: BentoCallOptions) =>
          this.unary(method, call as (r: unknown, o?: CallOptions) => Promise<unknown>, request, options);
      } else if (method.methodKind === "server_streaming") {
        wrapped[method.localName] = (request: unknown, options?: CallOptions) =>
          this.stream(call as (r: unknown, o?: CallOptions) => AsyncIterable<unknown>, request, options);
      }
    }
    return wrapped as ServiceClient<S>;
  }

  private async unary(
    method: DescMethod,
    call: (request: unknown, options?: CallOptions) => Promise<unknown>,
    request: unknown,
    options: BentoCallOptions = {},
  ): Promise<unknown> {
    const { idempotencyKey, ...callOptions } = options;
    // The proto's own declaration decides: an RPC that does not promise
    // NO_SIDE_EFFECTS (IDEMPOTENT ones included) is keyed, so the server can
    // answer a retry from what the first attempt did.
    const mutating = method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
    const key = idempotencyKey ?? (mutating ? randomUUID() : undefined);
    const headers = this.headers(key, callOptions.headers);
    const deadline = Date.now() + (callOptions.timeoutMs ?? this.timeoutMs);
    let delay = FIRST_DELAY_MS;
    for (let attempt = 0; ; attempt++) {
      const left = deadline - Date.now();
      try {
        return await call(request, { ...callOptions, headers, timeoutMs: Math.max(left, 1) });
      } catch (error) {
        const failed = ConnectError.from(error);
        const retry =
          failed.code === Code.Unavailable &&
          attempt < this.retries &&
          left > delay &&
          !callOptions.signal?.aborted;
        if (!retry) throw new BentoError(failed);
        await sleep(delay, callOptions.signal);
        delay *= 2;
      }
    }
  }

  private async *stream(
    call: (request: unknown, options?: CallOptions) => AsyncIterable<unknown>,
    request: unknown,
    options: CallOptions = {},
  ): AsyncGenerator<unknown, void, undefined> {
    try {
      yield* call(request, { ...options, headers: this.headers(undefined, options.headers) });
    } catch (error) {
      throw BentoError.from(error);
    }
  }
}

/** A client of the Bento server at `address` ("host:port"), as `apiKey` ("KEY_ID:SECRET"). */
export function connect(
  address: string,
  apiKey: string | undefined,
  options: ConnectOptions = {},
): BentoClient {
  return new BentoClient(address, apiKey, options);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
