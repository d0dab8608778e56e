"""The demo's hubs, one module each (as ASP.NET Core projects keep one Hub class per file)."""

from hubs.background_hub import BackgroundHub as BackgroundHub
from hubs.message_hub import MessageHub as MessageHub
from hubs.stream_hub import StreamHub as StreamHub
from hubs.time_hub import TimeHub as TimeHub
from hubs.vote_hub import VoteHub as VoteHub

__all__ = ["BackgroundHub", "MessageHub", "StreamHub", "TimeHub", "VoteHub"]
