"""Azure Storage clients built from :class:`StorageSettings`: a connection string (Azurite,
or shared key), or endpoints with a Microsoft Entra identity (DefaultAzureCredential)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.data.tables.aio import TableServiceClient
from azure.identity.aio import DefaultAzureCredential
from azure.storage.queue.aio import QueueServiceClient

from shared.config import StorageSettings

# One queue API version everywhere: Azurite 3.35, the newest on Node 20, rejects newer ones.
QUEUE_API_VERSION = "2025-11-05"


@dataclass
class StorageClients:
    """The process's table and queue service clients, sharing one credential."""

    tables: TableServiceClient
    queues: QueueServiceClient
    credential: DefaultAzureCredential | None = None

    @classmethod
    def build(cls, storage: StorageSettings, **client_options: Any) -> StorageClients:
        client_options = {"use_env_settings": storage.proxy_from_env, **client_options}
        queue_options = {"api_version": QUEUE_API_VERSION, **client_options}
        if storage.connection_string is not None:
            return cls(
                tables=TableServiceClient.from_connection_string(
                    storage.connection_string, **client_options
                ),
                queues=QueueServiceClient.from_connection_string(
                    storage.connection_string, **queue_options
                ),
            )
        assert storage.table_endpoint is not None
        assert storage.queue_endpoint is not None
        credential = DefaultAzureCredential(
            managed_identity_client_id=storage.managed_identity_client_id
        )
        return cls(
            tables=TableServiceClient(
                endpoint=storage.table_endpoint, credential=credential, **client_options
            ),
            queues=QueueServiceClient(
                account_url=storage.queue_endpoint, credential=credential, **queue_options
            ),
            credential=credential,
        )

    async def aclose(self) -> None:
        await self.tables.close()
        await self.queues.close()
        if self.credential is not None:
            await self.credential.close()
