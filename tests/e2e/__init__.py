"""End-to-end tests: the example projects under examples/, gated by the real CLI."""
