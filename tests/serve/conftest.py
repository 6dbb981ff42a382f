"""A small market for the service tests (one compile per test process)."""

from __future__ import annotations

SMALL = {
    "agent_types": ["momentum_trader", "market_maker"],
    "market": {"clearing": "cda", "episode_length": 64, "background_orders": 16,
               "reactive": [["market_maker", 2], ["fundamental", 8], ["momentum", 4],
                            ["noise", 8]]},
}
