"""The HTTP side: webhooks, REST API, web chat socket, inbox. Views are thin."""
