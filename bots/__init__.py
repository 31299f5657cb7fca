"""Bots: see only hub.domain types and act through the BotContext port."""
