"""Server internals: connections, dispatch, endpoints. Not public API."""
