"""Pure billing rules: money, periods, price phases and subscription status; no I/O, no clock."""
