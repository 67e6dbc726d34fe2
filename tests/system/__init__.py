"""Root-only system tests of the whole AM over TLS with the real namespace driver."""
