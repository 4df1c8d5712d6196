"""The demo's public alert configuration (cap.yaml): English and Italian texts, the demo's
address in links, and a subscriber file beside the database, so a new user sees a public alert
drafted, approved by a second person, published, in the feed and handed to a subscriber."""

from __future__ import annotations

from typing import Any

PUBLIC_ALERTS = "public-alerts.jsonl"  # the demo subscriber's inbox, beside the database

TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "event": "{domain_name}",
        "headline": "{level_label} warning: {domain_name} in {region}",
        "description": "A {level} warning for {domain_name} is in force in {region} from "
        "{onset} until {expires} (UTC). {reason}",
        "instruction": "Follow the advice of the local authorities and keep informed.",
        "response_types": ["Monitor"],
    },
    "it": {
        "event": "{domain_name}",
        "headline": "Allerta {level}: {domain_name}, {region}",
        "description": "È in vigore un'allerta {level} per {domain_name} su {region} dal "
        "{onset} al {expires} (UTC). {reason}",
        "instruction": "Seguite le indicazioni delle autorità locali e tenetevi informati.",
        "response_types": ["Monitor"],
        "levels": {"red": "rossa", "orange": "arancione", "yellow": "gialla", "blue": "blu"},
    },
}


def cap_config(base_url: str) -> dict[str, Any]:
    """cap.yaml for the demo, publishing under `base_url`."""
    return {
        "sender": "cap@tocsin-demo.example",
        "sender_name": "Tocsin demo civil protection",
        "identifier_prefix": "tocsin-demo",
        "base_url": base_url,
        "languages": ["en-GB", "it-IT"],
        "templates": {"default": TEXTS},
        "subscribers": [{"name": "demo-subscriber", "files": [f"../{PUBLIC_ALERTS}"]}],
    }
