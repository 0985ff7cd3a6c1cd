// Drives Herald with the legacy Node SDK azure-sb 0.11 (NotificationHubService), unmodified.
//
//   NODE_EXTRA_CA_CERTS=<ca.pem> node tests/sdk/azure_sb.mjs <connection string> <hub> <scenario>
//
// The Endpoint is sb://127.0.0.1:<https port>/ (azure-common refuses a host with no TLD, such as
// localhost). azure-sb turns it into https, signs the full request URL with the port spelled out
// (sr=https://127.0.0.1:<port>/<hub>/...?api-version=2016-07) and sends "Host: 127.0.0.1"
// without it. The scenario names the device handles:
// {"apple": [token, token, token], "gcm": token, "template": token}.
// Prints one JSON object: for each step, {ok: true, value} or {ok: false, error}.

import azure from "azure-sb";

const [connectionString, hubName, scenarioText] = process.argv.slice(2);
const scenario = JSON.parse(scenarioText);
const hub = azure.createNotificationHubService(hubName, connectionString);

// azure-sb calls back with (error, response) or, for reads, (error, result, response).
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
const installations = {
  apple0: { platform: "apns", pushChannel: scenario.apple[0], tags: ["vip"] },
  apple1: { platform: "apns", pushChannel: scenario.apple[1], tags: ["basic"] },
  leaving: { platform: "apns", pushChannel: scenario.apple[2], tags: ["leaving"] },
  gcm: { platform: "gcm", pushChannel: scenario.gcm, tags: ["vip"] },
  template: {
    platform: "apns",
    pushChannel: scenario.template,
    templates: { greeting: { body: '{"aps":{"alert":"$(message)"}}', tags: ["greeters"] } },
  },
};
for (const [name, fields] of Object.entries(installations)) {
  const installation = { installationId: `sb-${name}`, ...fields };
  results[`put_${name}`] = await call(hub.createOrUpdateInstallation.bind(hub), installation);
}
results.get = await call(hub.getInstallation.bind(hub), "sb-apple0");
results.patch = await call(hub.patchInstallation.bind(hub), "sb-apple0", [
  { op: "add", path: "/tags", value: "patched" },
]);
results.get_patched = await call(hub.getInstallation.bind(hub), "sb-apple0");

// Sends: native APNs and GCM with a tag or a tag list (joined with ||), and a template send.
results.send_apple_vip = await call(hub.apns.send.bind(hub.apns), "vip", { alert: "vip" });
results.send_apple_tags = await call(hub.apns.send.bind(hub.apns), ["patched", "basic"], {
  alert: "patched or basic",
});
results.send_gcm_vip = await call(hub.gcm.send.bind(hub.gcm), "vip", {
  data: { message: "gcm vip" },
});
results.send_template = await call(hub.send.bind(hub), "greeters", { message: "templated" });

// The sends above are still fanning out: delete an installation none of them targets.
results.delete = await call(hub.deleteInstallation.bind(hub), "sb-leaving");
results.get_deleted = await call(hub.getInstallation.bind(hub), "sb-leaving");
results.send_deleted = await call(hub.apns.send.bind(hub.apns), "leaving", { alert: "nobody" });

console.log(JSON.stringify(results));
