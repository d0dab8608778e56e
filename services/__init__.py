"""The demo's services: shared state behind the hubs, and the hosted TimeService."""
