"""The gRPC transport: servicers, the interceptor, and conversions."""
