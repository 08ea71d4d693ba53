"""The full-text index of messages, kept in step by the services (issue 17; docs/search.md).

On SQLite an FTS5 table, `chat_message_fts` (rowid = the message's id, its content), written here
whenever a message is stored, edited, redacted or deleted: a redacted or deleted message leaves
the index. On PostgreSQL a stored generated `tsvector` column of chat_message with a GIN index
(migration 0007) follows the row by itself, so these calls do nothing there. A merge of streams
moves rows, not content: the index is keyed by message id and needs nothing.
"""

from __future__ import annotations

from django.db import connection

FTS_TABLE = "chat_message_fts"


def uses_fts5() -> bool:
    return connection.vendor == "sqlite"


def index_message(message_id: int, content: str, *, redacted: bool = False) -> None:
    """The message's current text in the index (none once redacted)."""
    if not uses_fts5():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [message_id])  # noqa: S608
        if content and not redacted:
            cursor.execute(f"INSERT INTO {FTS_TABLE} (rowid, content) VALUES (%s, %s)", [message_id, content])  # noqa: S608


def index_new_messages(rows: list[tuple[int, str]]) -> None:
    """New messages (id, content) in the index: one statement for any number (and one clearing their
    ids first, as `index_message` does, which indexes a message alone)."""
    if len(rows) == 1:
        index_message(*rows[0])
        return
    if not uses_fts5() or not rows:
        return
    with connection.cursor() as cursor:
        ids = [message_id for message_id, _ in rows]
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({', '.join(['%s'] * len(ids))})", ids)  # noqa: S608
        indexed = [(message_id, content) for message_id, content in rows if content]
        if indexed:
            values = ", ".join(["(%s, %s)"] * len(indexed))
            params = [value for row in indexed for value in row]
            cursor.execute(f"INSERT INTO {FTS_TABLE} (rowid, content) VALUES {values}", params)  # noqa: S608


def unindex_message(message_id: int) -> None:
    if not uses_fts5():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [message_id])  # noqa: S608


def rebuild() -> int:
    """Index every readable message again (after a restore or a bulk insert); returns how many."""
    if not uses_fts5():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {FTS_TABLE} (rowid, content) SELECT id, content FROM chat_message "  # noqa: S608
            "WHERE redacted_at IS NULL AND content <> ''"
        )
        return cursor.rowcount
