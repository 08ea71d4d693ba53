"""MESSAGING_BACKEND=chime: Amazon Chime SDK messaging is the messaging service (docs/chime.md).

backend.py     ChimeBackend, the services' calls (channels.py, messages.py, reactions.py mixed in)
client.py      the boto3 clients, once per process, standard retries, endpoints from the environment
identity.py    AppInstanceUsers: ids, idempotent creation, ARNs on profiles
errors.py      Chime's refusals as the chat's domain errors
records.py     the event stream's records, parsed
relay.py       reading every shard of the event stream, with checkpoints (manage.py chime_relay)
"""

from chat.backends.chime.backend import ChimeBackend

__all__ = ["ChimeBackend"]
