from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from chat.realtime.socket_db import keep_socket_connection

        connection_created.connect(keep_socket_connection, dispatch_uid="chat.keep_socket_connection")
