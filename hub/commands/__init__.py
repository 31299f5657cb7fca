"""One-shot CLI work behind `hub`'s verbs: Telegram set-up, orders import, demo data."""
