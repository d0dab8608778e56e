"""HTTP endpoints and transports: they move framed bytes and never decode hub messages."""
