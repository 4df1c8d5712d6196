"""The warning pipeline's domain configuration, validated into frozen types.

Written as YAML in the configuration directory (`routes.yaml`, `escalation.yaml`; see
docs/warnings.md) and loaded by `tocsin.adapters.alerting_yaml`; `default_config()` is what runs
when those files are absent: every warning goes to its responsible unit, grouped by region and
domain, the built-in inhibit rules apply, and nobody escalates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tocsin.core.warnings.escalation import EscalationPolicy
from tocsin.core.warnings.inhibition import InhibitRule, default_inhibit_rules
from tocsin.core.warnings.mute_windows import MuteWindow
from tocsin.core.warnings.outbox import Address
from tocsin.core.warnings.pacing import PaceLimits
from tocsin.core.warnings.routing import Route


@dataclass(frozen=True)
class AlertingConfig:
    """Routes, named receivers, inhibit rules, mute windows and escalation policies."""

    root: Route = field(default_factory=lambda: Route("0"))
    receivers: Mapping[str, tuple[Address, ...]] = field(default_factory=dict)
    inhibit_rules: tuple[InhibitRule, ...] = field(default_factory=default_inhibit_rules)
    mute_windows: Mapping[str, MuteWindow] = field(default_factory=dict)
    escalation: tuple[EscalationPolicy, ...] = ()
    silence_notices_to: tuple[str, ...] = ()  # receivers told when silences start and end
    pacing: Mapping[str, PaceLimits] = field(default_factory=dict)  # webhook URL -> its limits


def default_config() -> AlertingConfig:
    """The configuration used when the directory has no routes.yaml / escalation.yaml."""
    return AlertingConfig()
