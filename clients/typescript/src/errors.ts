import { Code, ConnectError } from "@connectrpc/connect";
import { Code as RpcCode } from "./gen/google/rpc/code_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

/**
 * A call that failed: its gRPC code, Bento's reason, and the bad fields.
 *
 * `reason` is one of the reasons each RPC's doc comment lists (`plan_not_found`,
 * `invoice_already_paid`, ...); `metadata` is the ErrorInfo's (for
 * `events_pruned`, `oldest_sequence`); `fieldViolations` maps each bad
 * field of the request to what is wrong with it. All of them stay empty
 * for an error the transport made itself (no google.rpc.Status).
 */
export class BentoError extends Error {
  override readonly name = "BentoError";
  /** The gRPC status code (Connect's `Code` numbers are gRPC's). */
  readonly code: Code;
  /** The code as gRPC spells it: "NOT_FOUND". */
  readonly codeName: string;
  /** The server's message, without the code in front. */
  readonly rawMessage: string;
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly fieldViolations: Readonly<Record<string, string>>;
  override readonly cause: ConnectError;

  constructor(error: ConnectError) {
    const codeName = RpcCode[error.code] ?? String(error.code);
    // The details are google.rpc.Status's, from the grpc-status-details-bin
    // trailer, which the gRPC transport has already unpacked into Anys.
    const [info] = error.findDetails(ErrorInfoSchema);
    const fieldViolations: Record<string, string> = {};
    for (const bad of error.findDetails(BadRequestSchema)) {
      for (const violation of bad.fieldViolations) {
        fieldViolations[violation.field] = violation.description;
      }
    }
    const reason = info?.reason ?? "";
    super(
      reason
        ? `${codeName} ${reason}: ${error.rawMessage}`
        : `${codeName}: ${error.rawMessage}`,
    );
    this.code = error.code;
    this.codeName = codeName;
    this.rawMessage = error.rawMessage;
    this.reason = reason;
    this.domain = info?.domain ?? "";
    this.metadata = { ...(info?.metadata ?? {}) };
    this.fieldViolations = fieldViolations;
    this.cause = error;
  }

  /** `error` as a BentoError; anything not a ConnectError becomes UNKNOWN. */
  static from(error: unknown): BentoError {
    if (error instanceof BentoError) return error;
    return new BentoError(ConnectError.from(error));
  }
}
