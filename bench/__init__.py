"""Benchmarks of flask-signalr against its peers (issue 7); see bench/README.md."""
