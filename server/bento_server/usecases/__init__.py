"""One function per operation: load, decide, write the change in one transaction."""
