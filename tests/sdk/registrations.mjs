// Drives Herald's registrations API with the official NH JS SDK, unmodified: every registration
// function of the modular API and every registration description builder.
//
//   node tests/sdk/registrations.mjs <connection string> <hub name> <base URL>
//
// As installations.mjs: the Endpoint is replaced with the (http) base URL and a pipeline policy
// allows http. Prints one JSON object: for each step, {ok: true, value} or {ok: false, error}.

import {
  createOrUpdateRegistration,
  createRegistration,
  createRegistrationId,
  deleteRegistration,
  getRegistration,
  listRegistrations,
  listRegistrationsByChannel,
  listRegistrationsByTag,
  updateRegistration,
} from "@azure/notification-hubs/api";
import {
  createAdmRegistrationDescription,
  createAdmTemplateRegistrationDescription,
  createAppleRegistrationDescription,
  createAppleTemplateRegistrationDescription,
  createBaiduRegistrationDescription,
  createBaiduTemplateRegistrationDescription,
  createBrowserRegistrationDescription,
  createBrowserTemplateRegistrationDescription,
  createFcmLegacyRegistrationDescription,
  createFcmLegacyTemplateRegistrationDescription,
  createFcmV1RegistrationDescription,
  createFcmV1TemplateRegistrationDescription,
  createWindowsRegistrationDescription,
  createWindowsTemplateRegistrationDescription,
  createXiaomiRegistrationDescription,
  createXiaomiTemplateRegistrationDescription,
} from "@azure/notification-hubs/models";
import { clientContext, step } from "./nh_context.mjs";

const [connectionString, hubName, baseUrl] = process.argv.slice(2);
if (!connectionString || !hubName || !baseUrl) {
  console.error("usage: registrations.mjs <connection string> <hub name> <base URL>");
  process.exit(2);
}

const context = clientContext(connectionString, hubName, baseUrl);

async function all(iterable) {
  const found = [];
  for await (const item of iterable) found.push(item);
  return found;
}

async function pages(iterable) {
  const found = [];
  for await (const page of iterable.byPage()) found.push(page.map((r) => r.registrationId));
  return found;
}

const TOKEN = "62bcd3484834b7e2dc56733ac5509259230cc1ba82ba1ae7d06e91908a05a8fa";
const WNS = "https://db5.notify.windows.com/?token=AwYAAAB%2bQ%3d";
const BROWSER = {
  endpoint: "https://fcm.googleapis.com/fcm/send/abc",
  p256dh: "BO" + "A".repeat(85),
  auth: "AAECAwQFBgcICQoLDA0ODw",
};
const JSON_BODY = '{"data":{"message":"$(msg)"}}';
const tags = (name) => ["all", `kind:${name}`];

// Every builder, each with the fields its kind has.
const descriptions = {
  adm: createAdmRegistrationDescription({ admRegistrationId: "adm-1", tags: tags("adm") }),
  admTemplate: createAdmTemplateRegistrationDescription({
    admRegistrationId: "adm-2", bodyTemplate: JSON_BODY, templateName: "t", tags: tags("admT"),
  }),
  apple: createAppleRegistrationDescription({
    deviceToken: TOKEN, tags: tags("apple"), pushVariables: { name: "Ann" },
  }),
  appleTemplate: createAppleTemplateRegistrationDescription({
    deviceToken: TOKEN,
    bodyTemplate: '{"aps":{"alert":"$(msg)"}}',
    templateName: "greeting",
    expiry: "$(expiry)",
    apnsHeaders: { "apns-priority": "10", "apns-push-type": "alert" },
    tags: tags("appleT"),
  }),
  baidu: createBaiduRegistrationDescription({
    baiduUserId: "user-1", baiduChannelId: "4242", tags: tags("baidu"),
  }),
  baiduTemplate: createBaiduTemplateRegistrationDescription({
    baiduUserId: "user-2", baiduChannelId: "4343", tags: tags("baiduT"),
    bodyTemplate: '{"title":"t","description":"$(msg)"}',
  }),
  browser: createBrowserRegistrationDescription({ ...BROWSER, tags: tags("browser") }),
  browserTemplate: createBrowserTemplateRegistrationDescription({
    ...BROWSER, bodyTemplate: '{"title":"$(msg)"}', tags: tags("browserT"),
  }),
  gcm: createFcmLegacyRegistrationDescription({ gcmRegistrationId: "gcm-1", tags: tags("gcm") }),
  gcmTemplate: createFcmLegacyTemplateRegistrationDescription({
    gcmRegistrationId: "gcm-2", bodyTemplate: JSON_BODY, tags: tags("gcmT"),
  }),
  fcmv1: createFcmV1RegistrationDescription({ fcmV1RegistrationId: "fcm-1", tags: tags("fcmv1") }),
  fcmv1Template: createFcmV1TemplateRegistrationDescription({
    fcmV1RegistrationId: "fcm-2",
    bodyTemplate: '{"message":{"notification":{"title":"$(msg)"}}}',
    templateName: "news",
    tags: tags("fcmv1T"),
  }),
  windows: createWindowsRegistrationDescription({ channelUri: WNS, tags: tags("windows") }),
  windowsTemplate: createWindowsTemplateRegistrationDescription({
    channelUri: WNS,
    bodyTemplate: "<toast><visual><binding template=\"ToastText01\"><text id=\"1\">$(msg)</text></binding></visual></toast>",
    wnsHeaders: { "X-WNS-Type": "wns/toast" },
    tags: tags("windowsT"),
  }),
  xiaomi: createXiaomiRegistrationDescription({ xiaomiRegistrationId: "mi-1", tags: tags("xiaomi") }),
  xiaomiTemplate: createXiaomiTemplateRegistrationDescription({
    xiaomiRegistrationId: "mi-2", bodyTemplate: '{"title":"t","description":"$(msg)"}',
    tags: tags("xiaomiT"),
  }),
};

const result = { ids: {} };
// Each kind: an id from createRegistrationId, stored with createOrUpdateRegistration, read back.
for (const [name, description] of Object.entries(descriptions)) {
  const id = await step(() => createRegistrationId(context));
  result[`id:${name}`] = id;
  if (!id.ok) continue;
  result.ids[name] = id.value;
  result[`put:${name}`] = await step(() =>
    createOrUpdateRegistration(context, { ...description, registrationId: id.value }),
  );
  result[`get:${name}`] = await step(() => getRegistration(context, id.value));
}

// Create (POST), update with the current and a stale ETag, delete with an ETag.
const created = await step(() =>
  createRegistration(context, createFcmV1RegistrationDescription({
    fcmV1RegistrationId: "fcm-created", tags: ["created"],
  })),
);
result.create = created;
if (created.ok) {
  const current = created.value;
  result.update = await step(() =>
    updateRegistration(context, { ...current, tags: ["created", "updated"] }),
  );
  result.updateStale = await step(() => updateRegistration(context, { ...current, tags: ["x"] }));
  result.deleteStale = await step(() =>
    deleteRegistration(context, current.registrationId, { etag: current.etag }),
  );
  const etag = result.update.ok ? result.update.value.etag : "*";
  result.delete = await step(() =>
    deleteRegistration(context, current.registrationId, { etag }),
  );
  result.getDeleted = await step(() => getRegistration(context, current.registrationId));
  result.deleteAgain = await step(() => deleteRegistration(context, current.registrationId));
}

// Listing: everything in pages of 5, by tag, and by each channel kind the SDK can filter on.
result.listAll = await step(() => all(listRegistrations(context, { top: 5 })));
result.listPages = await step(() => pages(listRegistrations(context, { top: 5 })));
result.listByTag = await step(() => all(listRegistrationsByTag(context, "kind:apple")));
result.listByTagPages = await step(() => pages(listRegistrationsByTag(context, "all", { top: 4 })));
const channels = {
  adm: { kind: "adm", admRegistrationId: "adm-1" },
  apple: { kind: "apple", deviceToken: TOKEN },
  baidu: { kind: "baidu", baiduChannelId: "4242", baiduUserId: "user-1" },
  browser: { kind: "browser", ...BROWSER },
  gcm: { kind: "gcm", gcmRegistrationId: "gcm-1" },
  fcmv1: { kind: "fcmv1", fcmV1RegistrationId: "fcm-2" },
  windows: { kind: "windows", channelUri: WNS },
};
for (const [name, channel] of Object.entries(channels)) {
  result[`byChannel:${name}`] = await step(async () =>
    (await all(listRegistrationsByChannel(context, channel))).map((r) => r.registrationId),
  );
}

process.stdout.write(JSON.stringify(result) + "\n");
