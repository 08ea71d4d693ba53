"""Every state change of the chat, and the reads that carry a permission rule.

Each write takes the acting user (``actor=``), asks chat/policy.py, writes inside a transaction
and announces through chat/events.py, which publishes only after commit. Views, consumers,
the admin and management commands call these functions; they never write models themselves.

Dependency order, lowest first: a module imports only modules above it in this list, so there
is no import circle (``make test`` checks it with lint-imports and scripts/import_cycles.py).

    text           text people send must be Unicode UTF-8 can carry    (chat.exceptions only)
    redis_health   Redis clients that fail fast, and the fallback while Redis is down; no chat imports
    ratelimit      token buckets (memory or Redis)                     -> redis_health
    presence       who is connected, with which status (memory or Redis) -> redis_health, text
    activity       metrics and the dashboards' rollup: sends stored, refused, delivered (chat.attachments.errors)
    rollup         delivery latency into the rollup, its rebuild       -> activity
    trends         keyword and emoji trends of a channel's recent messages
    access         channels fetched with the person's standing: one 404 for missing or invisible
    payloads       the shape of a message in frames and stored events
    reads          the streams a person follows, the stream they read in a channel
    read_markers   read markers and unread counts                      -> access, reads
    sidebar        my channels and conversations, unread counts and mentions, my status  -> presence
    people         whom a person may start a direct conversation with (the picker)
    streams        moving one stream's history into another (scale-in) -> payloads
    elastic        seats, scale-out and scale-in, moderators' seats    -> access, streams
    memberships    join, leave, add, remove, promote, demote, ban      -> access, elastic
    attachments    uploads and their life with messages                (chat/attachments below)
    channels       create, edit, delete, direct messages               -> access, attachments, elastic, memberships
    history        pages of a stream, where a reader's unread start, one readable message  -> access, attachments
    search_index   the full-text index kept in step (SQLite FTS5; PostgreSQL's generated column)
    replies        what a send may reply to, telling its author, scrubbing quotes  (policy, events)
    send_batch     group commit: a batch's lookups once, one statement  -> access, activity, attachments,
                   per table for its writes (else a savepoint per send)    payloads, replies, search_index
    messages       send, edit, redact, delete, slow mode               -> access, activity, attachments, memberships,
                                                                          payloads, ratelimit, replies, send_batch
    reactions      emoji reactions: add, remove, moderators clear      -> access, payloads
    search         full-text search over what a person may read now   -> reads, search_index
    reports        report a message; dismiss, redact, ban, deactivate  -> access, memberships, messages, ratelimit
    dashboards     the administrators' and moderators' figures        -> access, activity, presence, trends
    mirror_channels  Chime's membership, channel and sub-channel events  -> attachments, elastic, memberships
    mirror_reactions  Chime's reaction messages (issue 17)               -> mirror_channels, reactions
    mirror           Chime's message events, the relay's entry points    -> attachments, elastic, messages,
                                                                            mirror_channels, mirror_reactions, payloads,
                                                                            replies
    chime_sync       reconcile channels from Chime, provision it         -> mirror, mirror_channels

Services reach the messaging backend (chat/backends/, MESSAGING_BACKEND) after policy has passed
and before they write; ``mirror*`` and ``chime_sync`` apply what Chime already decided (no policy),
for ``manage.py chime_relay`` and ``manage.py chime_sync`` (docs/chime.md).
"""
