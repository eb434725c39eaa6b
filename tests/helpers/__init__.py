"""What several test files share, one copy each."""
