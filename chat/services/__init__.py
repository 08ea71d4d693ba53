"""Every state change of the chat, and the reads that carry a permission rule.

Each write takes the acting user (``actor=``), asks chat/policy.py, writes inside a transaction
and announces through chat/events.py, which publishes only after commit. Views, consumers,
the admin and management commands call these functions; they never write models themselves.

Dependency order, lowest first: a module imports only modules above it in this list, so there
is no import circle (``make test`` checks it with lint-imports and scripts/import_cycles.py).

    ratelimit      token buckets (memory or Redis); no chat imports
    presence       who is connected, with which status (memory or Redis); no chat imports
    access         channels fetched with the person's standing: one 404 for missing or invisible
    payloads       the shape of a message in frames and stored events
    reads          the streams a person follows, the stream they read in a channel
    read_markers   read markers and unread counts                      -> access, reads
    streams        moving one stream's history into another (scale-in) -> payloads
    elastic        seats, scale-out and scale-in, moderators' seats    -> access, streams
    memberships    join, leave, add, remove, promote, demote, ban      -> access, elastic
    attachments    uploads and their life with messages                (chat/attachments below)
    channels       create, edit, delete, direct messages               -> access, attachments, elastic, memberships
    messages       send, edit, redact, delete, slow mode               -> access, attachments, memberships,
                                                                          payloads, ratelimit, read_markers
"""
