// Drives Herald's send API with the official NH JS SDK, unmodified.
//
//   node tests/sdk/sending.mjs <connection string> <hub name> <base URL> <scenario JSON>
//
// The scenario names the format and the device handles to use:
// {"format": "apple" | "baidu" | "xiaomi", "handles": [handle...], "tag": "..."}.
// As in installations.mjs, the Endpoint becomes the http base URL and a pipeline policy
// allows http. Prints one JSON object: for each step, {ok: true, value} or {ok: false, error}.

import {
  cancelScheduledNotification,
  getNotificationOutcomeDetails,
  scheduleNotification,
  sendNotification,
} from "@azure/notification-hubs/api";
import {
  createAppleNotification,
  createBaiduNotification,
  createXiaomiNotification,
} from "@azure/notification-hubs/models";
import { clientContext, step } from "./nh_context.mjs";

const [connectionString, hubName, baseUrl, scenarioText] = process.argv.slice(2);
const scenario = JSON.parse(scenarioText);

const context = clientContext(connectionString, hubName, baseUrl);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function outcome(notificationId) {
  // The SDK's own polling loop: wait until the send is no longer in flight.
  for (let attempt = 0; attempt < 300; attempt++) {
    const details = await getNotificationOutcomeDetails(context, notificationId);
    if (!["Enqueued", "Processing"].includes(details.state)) return details;
    await sleep(200);
  }
  throw new Error("the send did not finish");
}

// One notification carrying `text`, in the scenario's format, built by the SDK's own builders.
const builders = {
  apple: (text) => createAppleNotification({ body: { aps: { alert: text } } }),
  baidu: (text) => createBaiduNotification({ body: { title: text, description: text } }),
  xiaomi: (text) =>
    createXiaomiNotification({ body: { title: text, description: text, payload: text } }),
};
const alert = builders[scenario.format];
const results = {};

results.tagged = await step(async () => {
  const sent = await sendNotification(context, alert("tagged"), { tagExpression: scenario.tag });
  return { sent, details: await outcome(sent.notificationId) };
});
results.broadcast = await step(async () => {
  const sent = await sendNotification(context, alert("everyone"), {});
  return { sent, details: await outcome(sent.notificationId) };
});
results.direct = await step(async () => {
  const sent = await sendNotification(context, alert("direct"), { deviceHandle: scenario.handles[0] });
  return { sent, details: await outcome(sent.notificationId) };
});
results.batch = await step(async () => {
  const sent = await sendNotification(context, alert("batch"), { deviceHandle: scenario.handles });
  return { sent, details: await outcome(sent.notificationId) };
});
results.test = await step(() =>
  sendNotification(context, alert("test"), { tagExpression: scenario.tag, enableTestSend: true }),
);
results.scheduled = await step(async () => {
  const later = new Date(Date.now() + 3600 * 1000);
  const scheduled = await scheduleNotification(context, later, alert("later"), {
    tagExpression: scenario.tag,
  });
  const cancelled = await cancelScheduledNotification(context, scheduled.notificationId);
  return { scheduled, cancelled };
});

console.log(JSON.stringify(results));
