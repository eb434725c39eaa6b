"""What serves the RPCs without being one: the event feed that wakes
streams, batched reads, metrics, and the billing clock's sweep."""
