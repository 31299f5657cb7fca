"""What tests share, one purpose a module: a running hub (`running`), waiting with a deadline
(`polling`), forged inputs (`inputs`), an operator through the API and the inbox (`api`,
`inbox`, `browser`), customers on every channel (`people`, `twilio`, `mail`, `webchat`,
`attachments`, `webchat_visitor`), orders (`orders`; the shop platforms' order feeds:
`feeds`), the sandbox (`sandbox`), the `hub` command (`cli`) and the fault tests' processes
(`faults`, `disk`). Test modules import helpers from here, never from one another.

The most used tools are importable from the package itself.
"""

from tests.support.inputs import concrete_path, tampered
from tests.support.polling import eventually
from tests.support.running import RunningHub, operator_reply, start_hub, stop_hub

__all__ = [
    "RunningHub",
    "concrete_path",
    "eventually",
    "operator_reply",
    "start_hub",
    "stop_hub",
    "tampered",
]
