from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from chat.realtime import latency, sessions
        from chat.realtime.socket_db import keep_socket_connection
        from chat.services import dashboards
        from hobbies import metrics

        connection_created.connect(keep_socket_connection, dispatch_uid="chat.keep_socket_connection")
        # A sign-out, a deactivation or a deleted session closes the open sockets concerned.
        sessions.connect_receivers()
        # Delivery latency into the dashboards' rollup; active users counted when /metrics is read.
        latency.connect()
        metrics.register_scrape_source(metrics.names.ACTIVE_USERS, dashboards.active_users_by_window)
