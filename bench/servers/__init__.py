"""The servers under test, one module per system; each is started as its own process."""
