"""Tests of the `receivables` package."""
