// Drives Herald's installations API with the official NH JS SDK, unmodified.
//
//   node tests/sdk/installations.mjs <connection string> <hub name> <base URL>
//
// The connection string is the hub's own (Endpoint=sb://host:port/); the SDK would turn sb://
// into https://, and the test host speaks plain http, so the Endpoint is replaced with the base
// URL and a pipeline policy allows http (the client-level allowInsecureConnection is ignored).
// Prints one JSON object: for each step, {ok: true, value} or {ok: false, error}. Exits 0
// whatever the server answered; the caller asserts on the output.

import { NotificationHubsClient } from "@azure/notification-hubs";
import {
  createOrUpdateInstallation,
  deleteInstallation,
  getInstallation,
  updateInstallation,
} from "@azure/notification-hubs/api";
import { createBrowserInstallation, createFcmV1Installation } from "@azure/notification-hubs/models";
import { clientContext, options, pointedAt, step } from "./nh_context.mjs";

const [connectionString, hubName, baseUrl] = process.argv.slice(2);
if (!connectionString || !hubName || !baseUrl) {
  console.error("usage: installations.mjs <connection string> <hub name> <base URL>");
  process.exit(2);
}

function withKey(text, key) {
  return text.replace(/SharedAccessKey=[^;]*/, () => `SharedAccessKey=${key}`);
}

const P256DH = "BO" + "A".repeat(85); // 65 bytes, 0x04 first: an uncompressed P-256 point's shape
const AUTH = "AAECAwQFBgcICQoLDA0ODw"; // 16 bytes

const browser = createBrowserInstallation({
  installationId: "sdk-browser-1",
  pushChannel: { endpoint: "https://fcm.googleapis.com/fcm/send/abc", p256dh: P256DH, auth: AUTH },
  tags: ["likes_hockey", "city:oslo"],
  userId: "alice@example.com",
  pushVariables: { name: "Alice" },
  templates: {
    greeting: { body: '{"title":"Hi $(name)"}', tags: ["promo"] },
  },
});

const fcm = createFcmV1Installation({
  installationId: "sdk-fcm-1",
  pushChannel: "fcm-token-0123456789",
  tags: ["likes_football", "city:bergen"],
  userId: "bob",
  templates: {
    "Template Name": {
      body: '{"message":{"notification":{"title":"$(msg)"}}}',
      tags: ["news"],
    },
  },
});

const patches = [
  { op: "add", path: "/tags", value: "likes_tennis" },
  { op: "remove", path: "/tags/likes_hockey" },
  { op: "replace", path: "/userId", value: "alice2" },
  // The SDK types a patch value as a string: a template travels as JSON text.
  {
    op: "add",
    path: "/templates/welcome",
    value: JSON.stringify({ body: '{"title":"Welcome"}', tags: ["new_user"] }),
  },
];

const client = new NotificationHubsClient(pointedAt(baseUrl, connectionString), hubName, options);
const context = clientContext(connectionString, hubName, baseUrl);
const wrongKey = new NotificationHubsClient(
  withKey(pointedAt(baseUrl, connectionString), "d3Jvbmcta2V5"),
  hubName,
  options,
);

const result = {};
// The client class for the browser installation, the modular API (context) for fcmv1.
result.putBrowser = await step(() => client.createOrUpdateInstallation(browser));
result.getBrowser = await step(() => client.getInstallation(browser.installationId));
result.patchBrowser = await step(() => client.updateInstallation(browser.installationId, patches));
result.getBrowserPatched = await step(() => client.getInstallation(browser.installationId));
result.putFcm = await step(() => createOrUpdateInstallation(context, fcm));
result.getFcm = await step(() => getInstallation(context, fcm.installationId));
result.patchFcm = await step(() =>
  updateInstallation(context, fcm.installationId, [{ op: "add", path: "/tags", value: "vip" }]),
);
result.getFcmPatched = await step(() => getInstallation(context, fcm.installationId));
result.deleteFcm = await step(() => deleteInstallation(context, fcm.installationId));
result.getFcmDeleted = await step(() => getInstallation(context, fcm.installationId));
result.deleteFcmAgain = await step(() => deleteInstallation(context, fcm.installationId));
result.patchFcmDeleted = await step(() =>
  updateInstallation(context, fcm.installationId, [{ op: "add", path: "/tags", value: "x" }]),
);
result.wrongKeyGet = await step(() => wrongKey.getInstallation(browser.installationId));
result.wrongKeyPut = await step(() => wrongKey.createOrUpdateInstallation(browser));

process.stdout.write(JSON.stringify(result) + "\n");
