"""The sandbox (`HUB_SANDBOX=1`): fake Telegram, Twilio and SMTP providers inside the hub's own
process, and the `/sandbox` page that writes as a customer through the real webhooks.

Kept import-light on purpose: `hub.settings` reaches `hub.sandbox.config`, which must never
pull in the web app, adapters or bots.
"""
