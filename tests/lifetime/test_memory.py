"""The in-memory manager against the shared lifetime-manager specification."""

from flask_signalr.lifetime.memory import MemoryHubLifetimeManager

from support.lifetime_spec import LifetimeManagerSpec


class TestMemoryManager(LifetimeManagerSpec):
    def make_manager(self) -> MemoryHubLifetimeManager:
        return MemoryHubLifetimeManager()
