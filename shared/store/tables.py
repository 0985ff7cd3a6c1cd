"""Herald's tables, created on first use in each process."""

from __future__ import annotations

from azure.data.tables.aio import TableClient, TableServiceClient

HUBS = "hubs"
INSTALLATIONS = "installations"
TAG_INDEX = "tagindex"
NOTIFICATIONS = "notifications"
FEEDBACK = "feedback"
SCHEDULED = "scheduled"

ALL_TABLES = (HUBS, INSTALLATIONS, TAG_INDEX, NOTIFICATIONS, FEEDBACK, SCHEDULED)


class Tables:
    """Table clients by name; each table is created once per process if it is missing."""

    def __init__(self, service: TableServiceClient) -> None:
        self._service = service
        self._clients: dict[str, TableClient] = {}

    async def get(self, name: str) -> TableClient:
        client = self._clients.get(name)
        if client is None:
            await self._service.create_table_if_not_exists(name)
            client = self._clients[name] = self._service.get_table_client(name)
        return client
