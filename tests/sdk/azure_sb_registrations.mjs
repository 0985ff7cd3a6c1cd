// Drives Herald's registrations API with the legacy Node SDK azure-sb 0.11, unmodified:
// NotificationHubService's own registration calls, the apns, gcm and wns registration helpers,
// the list calls, and then sends that should reach each registration.
//
//   NODE_EXTRA_CA_CERTS=<ca.pem> node tests/sdk/azure_sb_registrations.mjs <conn> <hub> <scenario>
//
// The scenario names the handles: {"apple": [t0, t1, t2], "gcm": [g0, g1], "wns": [c0, c1]}.
// azure-sb writes <RegistrationDescription i:type="…"> and wraps templates in CDATA itself.
// Prints one JSON object: for each step, {ok: true, value} or {ok: false, error}.

import azure from "azure-sb";

const [connectionString, hubName, scenarioText] = process.argv.slice(2);
const scenario = JSON.parse(scenarioText);
const hub = azure.createNotificationHubService(hubName, connectionString);

function call(method, ...args) {
  return new Promise((resolve) => {
    method(...args, (error, ...answers) => {
      const response = answers.at(-1);
      if (error) {
        const { statusCode, code, detail } = error;
        resolve({ ok: false, error: { statusCode, code, detail, message: String(error.message) } });
        return;
      }
      const value = { statusCode: response?.statusCode, location: response?.headers?.location };
      if (answers.length > 1) value.result = answers[0];
      resolve({ ok: true, value });
    });
  });
}

const results = {};
const [apple0, apple1, apple2] = scenario.apple;
const [gcm0, gcm1] = scenario.gcm;
const [wns0, wns1] = scenario.wns;

// NotificationHubService: an id, then a native Apple registration under it.
results.id = await call(hub.createRegistrationId.bind(hub));
const id = results.id.ok ? results.id.value.result : "missing";
results.apple_native = await call(
  hub.apns.createOrUpdateNativeRegistration.bind(hub.apns), id, apple0, ["sb-apple"],
);
// The helpers of each service: native and template, created (POST) or at an id (PUT).
results.apple_template = await call(
  hub.apns.createTemplateRegistration.bind(hub.apns), apple1, ["sb-apple-t"],
  { alert: "$(message)" },
);
results.apple_other = await call(
  hub.apns.createNativeRegistration.bind(hub.apns), apple2, ["sb-leaving"],
);
results.gcm_native = await call(hub.gcm.createNativeRegistration.bind(hub.gcm), gcm0, ["sb-gcm"]);
results.gcm_template = await call(
  hub.gcm.createTemplateRegistration.bind(hub.gcm), gcm1, ["sb-gcm-t"],
  { data: { message: "$(message)" } },
);
results.wns_native = await call(hub.wns.createNativeRegistration.bind(hub.wns), wns0, ["sb-wns"]);
results.wns_template = await call(
  hub.wns.createToastText01Registration.bind(hub.wns), wns1, ["sb-wns-t"], "$(message)",
);

// Read one back, change its tags, write it with createOrUpdateRegistration, then
// updateRegistration with its ETag and with a stale one.
results.get = await call(hub.getRegistration.bind(hub), id);
if (results.get.ok) {
  const registration = results.get.value.result;
  registration.Tags = "sb-apple,sb-changed";
  results.create_or_update = await call(hub.createOrUpdateRegistration.bind(hub), registration);
}
results.get_changed = await call(hub.getRegistration.bind(hub), id);
if (results.get_changed.ok) {
  const registration = results.get_changed.value.result;
  const etag = registration.ETag;
  registration.Tags = "sb-apple,sb-updated";
  results.update = await call(hub.updateRegistration.bind(hub), registration, { etag });
  const stale = results.get_changed.value.result;
  results.update_stale = await call(hub.updateRegistration.bind(hub), {
    ...stale, RegistrationId: id, Tags: "sb-stale", _: { ContentRootElement: "AppleRegistrationDescription" },
  }, { etag });
}

// The list calls.
results.list = await call(hub.listRegistrations.bind(hub), { top: 100 });
results.list_by_tag = await call(hub.listRegistrationsByTag.bind(hub), "sb-apple");
results.list_by_token = await call(hub.apns.listRegistrationsByToken.bind(hub.apns), apple0);
results.list_by_gcm = await call(
  hub.gcm.listRegistrationsByGcmRegistrationId.bind(hub.gcm), gcm0,
);
results.list_by_channel = await call(hub.wns.listRegistrationsByChannel.bind(hub.wns), wns0);

// Delete one registration, then send to each tag.
const other = results.apple_other.ok ? results.apple_other.value.result.RegistrationId : "x";
results.delete = await call(hub.deleteRegistration.bind(hub), other);
results.get_deleted = await call(hub.getRegistration.bind(hub), other);
results.send_apple = await call(hub.apns.send.bind(hub.apns), "sb-apple", { alert: "native" });
results.send_gcm = await call(hub.gcm.send.bind(hub.gcm), "sb-gcm", { data: { message: "native" } });
results.send_wns = await call(hub.wns.sendToastText01.bind(hub.wns), "sb-wns", "native");
results.send_template = await call(
  hub.send.bind(hub), "sb-apple-t || sb-gcm-t || sb-wns-t", { message: "templated" },
);
results.send_deleted = await call(hub.apns.send.bind(hub.apns), "sb-leaving", { alert: "gone" });

console.log(JSON.stringify(results));
