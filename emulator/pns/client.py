"""A small async client for the control API, for tests and tools."""

from __future__ import annotations

from typing import Any

import httpx


class ControlError(RuntimeError):
    """The control API refused a request."""


class ControlClient:
    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=10.0)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code != 200:
            raise ControlError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    async def records(
        self, platform: str | None = None, handle: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("platform", platform), ("handle", handle)) if v}
        body = await self._call("GET", "/records", params=params)
        records: list[dict[str, Any]] = body["records"]
        return records

    async def counts(self, platform: str) -> dict[str, int]:
        """Accepted deliveries per handle for one platform."""
        body = await self._call("GET", "/counts", params={"platform": platform})
        delivered: dict[str, int] = body["delivered"][platform]
        return delivered

    async def delivered_total(self, platform: str) -> int:
        """Accepted deliveries for one platform, all handles together."""
        body = await self._call("GET", "/totals", params={"platform": platform})
        total: int = body["delivered"][platform]
        return total

    async def rejections(self, platform: str) -> dict[str, dict[str, int]]:
        """Rejected attempts per handle and reason for one platform."""
        body = await self._call("GET", "/counts", params={"platform": platform})
        rejected: dict[str, dict[str, int]] = body["rejected"][platform]
        return rejected

    async def reset_records(self, platform: str | None = None) -> None:
        await self._call("DELETE", "/records", params={"platform": platform} if platform else {})

    async def reset(self) -> None:
        await self._call("POST", "/reset")

    async def set_faults(self, platform: str, **spec: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("PUT", f"/{platform}/faults", json=spec)
        return result

    async def clear_faults(self, platform: str) -> None:
        await self._call("DELETE", f"/{platform}/faults")

    async def mark_handle(
        self, platform: str, handle: str, state: str = "dead", *, replacement: str | None = None
    ) -> None:
        body: dict[str, str] = {"handle": handle, "state": state}
        if replacement:
            body["replacement"] = replacement
        await self._call("POST", f"/{platform}/handles", json=body)

    async def expire_tokens(self, platform: str) -> None:
        await self._call("POST", f"/{platform}/tokens/expire")

    async def create_webpush_subscription(
        self, application_server_key: str | None = None
    ) -> dict[str, str]:
        body = {"application_server_key": application_server_key} if application_server_key else {}
        result: dict[str, str] = await self._call("POST", "/webpush/subscriptions", json=body)
        return result

    async def register_apns_key(
        self, key_id: str, team_id: str, public_key_pem: str, topics: list[str] | None = None
    ) -> None:
        body = {"key_id": key_id, "team_id": team_id, "public_key": public_key_pem}
        await self._call("POST", "/apns/keys", json={**body, "topics": topics or []})

    async def issue_apns_certificate(self, topic: str) -> dict[str, str]:
        result: dict[str, str] = await self._call(
            "POST", "/apns/certificates", json={"topic": topic}
        )
        return result

    async def new_fcm_service_account(self, project_id: str | None = None) -> dict[str, str]:
        body = {"project_id": project_id} if project_id else {}
        result: dict[str, str] = await self._call("POST", "/fcm/service-accounts", json=body)
        return result

    async def register_wns_client(
        self, client_id: str, client_secret: str, tenant_id: str = ""
    ) -> None:
        body = {"client_id": client_id, "client_secret": client_secret, "tenant_id": tenant_id}
        await self._call("POST", "/wns/clients", json=body)

    async def register_baidu_app(self, api_key: str, secret_key: str) -> None:
        await self._call("POST", "/baidu/apps", json={"api_key": api_key, "secret_key": secret_key})

    async def register_xiaomi_app(self, app_secret: str, packages: tuple[str, ...] = ()) -> None:
        body = {"app_secret": app_secret, "packages": list(packages)}
        await self._call("POST", "/xiaomi/apps", json=body)

    async def register_adm_client(self, client_id: str, client_secret: str) -> None:
        body = {"client_id": client_id, "client_secret": client_secret}
        await self._call("POST", "/adm/clients", json=body)
