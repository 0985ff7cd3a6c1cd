"""The README's Python backend: azure-identity gets the token, the backend sends it as is.

Entra ID cannot be reached from here, so the credential's authority is the local issuer, which
answers the client-credentials request at Entra's path (``/{tenant}/oauth2/v2.0/token``).
A managed identity (``DefaultAzureCredential`` on Azure) differs only in how it asks.
"""

from __future__ import annotations

from azure.identity.aio import ClientSecretCredential

from support.oidc import AUDIENCE

from .conftest import Bearer, Issuers, installation


async def test_a_token_from_azure_identity_registers_and_sends(
    bearer: Bearer, issuers: Issuers
) -> None:
    issuers.trusted.clients["backend-app"] = ("backend-secret", ("Herald.Listen", "Herald.Send"))
    tenant = issuers.trusted.url.removeprefix(issuers.registry.origin + "/").removesuffix("/v2.0")
    async with ClientSecretCredential(
        tenant,
        "backend-app",
        "backend-secret",
        authority=issuers.registry.origin,
        connection_verify=str(issuers.certs.ca_file),
    ) as credential:
        token = await credential.get_token(f"{AUDIENCE}/.default")
    headers = {"Authorization": f"Bearer {token.token}"}
    async with bearer.client() as http:
        put = await http.put("/installations/phone", json=installation("phone"), headers=headers)
        sent = await http.post(
            "/messages",
            content=b'{"aps":{"alert":"hi"}}',
            headers={
                **headers,
                "ServiceBusNotification-Format": "apple",
                "ServiceBusNotification-Tags": "$InstallationId:{phone}",
                "Content-Type": "application/json",
            },
        )
    assert (put.status_code, sent.status_code) == (200, 201)
