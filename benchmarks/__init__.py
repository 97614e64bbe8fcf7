"""Throughput benchmarks (not tests): each module prints rates and ratios measured in one run."""
