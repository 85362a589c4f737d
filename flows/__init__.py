"""Prefect flows: composition, parameters, the order of stages."""
