"""The publicity service, as the kit sees it. Campaigns, events and press releases come later."""

from __future__ import annotations

from servicekit.service import ServiceDefinition

from publicity.settings import PublicitySettings

PUBLICITY = ServiceDefinition(
    name="publicity",
    title="IP publicity",
    description="Campaigns such as the 4.26 IP Publicity Week, events, press releases and the news feed.",
    settings_factory=PublicitySettings,
)
