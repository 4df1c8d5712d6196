"""Notification channels: one module per channel (webhook, e-mail), each a `Notifier`."""
