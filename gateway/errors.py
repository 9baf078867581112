"""The product's one exception root and its families.

Protocol errors say which side is at fault: ``OurError`` when this gateway misused
something, ``PeerError`` when the other side (radio, handset, broker) sent garbage.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(GatewayError):
    """The YAML configuration is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ProtocolError(GatewayError):
    """A protocol rule was broken."""


class OurError(ProtocolError):
    """We misused a protocol (a bug on our side)."""


class PeerError(ProtocolError):
    """The other side sent something malformed or out of place."""
