"""A function module whose init phase fails (as a missing setting would)."""

raise RuntimeError("DATABASE_URL is not set")
