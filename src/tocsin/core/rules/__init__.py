"""Rules: declarative conditions over indicators that emit level changes."""
