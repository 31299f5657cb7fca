"""What arrives from outside besides webhooks: Telegram polling, the SMTP listener, IMAP.

Each listener turns what it receives into `InboundMessage`s and hands them to
`hub.queue.inbound.accept_inbound`; a new channel's listener goes here.
"""
