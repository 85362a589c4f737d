"""Suites that cross every stage: faults, security, a scenario of many nights, bad inputs, the install, the layout."""
