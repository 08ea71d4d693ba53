"""Chat data: channels, memberships and messages (filled in by the channels and messaging work)."""
