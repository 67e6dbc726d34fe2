"""Third-party GENI clients (geni-lib, ...) driving a gam started by the test."""
