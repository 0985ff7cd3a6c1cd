// What the NH JS SDK drivers here share: client options that let the SDK speak http to the
// local host, a connection string pointed at that host, and a step that keeps a call's value,
// or its error, for the Python test to read as JSON.
import { createClientContext } from "@azure/notification-hubs/api";

const allowHttp = {
  name: "heraldAllowHttp",
  sendRequest(request, next) {
    request.allowInsecureConnection = true;
    return next(request);
  },
};
export const options = { additionalPolicies: [{ position: "perCall", policy: allowHttp }] };

export function pointedAt(baseUrl, connectionString) {
  const endpoint = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  return connectionString.replace(/Endpoint=[^;]*/, () => `Endpoint=${endpoint}`);
}

export function clientContext(connectionString, hubName, baseUrl) {
  return createClientContext(pointedAt(baseUrl, connectionString), hubName, options);
}

export async function step(call) {
  try {
    return { ok: true, value: (await call()) ?? null };
  } catch (error) {
    return {
      ok: false,
      error: {
        name: error?.name ?? null,
        statusCode: error?.statusCode ?? null,
        code: error?.code ?? null,
        message: String(error?.message ?? error),
      },
    };
  }
}
