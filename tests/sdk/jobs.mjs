// Drives Herald's jobs API with the official NH JS SDK, unmodified: submitNotificationHubJob,
// beginSubmitNotificationHubJob (its poller until the job completes), getNotificationHubJob and
// listNotificationHubJobs.
//
//   node tests/sdk/jobs.mjs <connection string> <hub name> <base URL> <container SAS URI> <import file SAS URI>
//
// As registrations.mjs: the Endpoint is replaced with the (http) base URL and a pipeline policy
// allows http. Prints one JSON object: for each step, {ok: true, value} or {ok: false, error}.

import {
  beginSubmitNotificationHubJob,
  getNotificationHubJob,
  listNotificationHubJobs,
  submitNotificationHubJob,
} from "@azure/notification-hubs/api";
import { clientContext, step } from "./nh_context.mjs";

const [connectionString, hubName, baseUrl, containerUrl, importFileUrl] = process.argv.slice(2);
if (!connectionString || !hubName || !baseUrl || !containerUrl || !importFileUrl) {
  console.error("usage: jobs.mjs <connection string> <hub> <base URL> <container URI> <file URI>");
  process.exit(2);
}

const context = clientContext(connectionString, hubName, baseUrl);

const results = {};
results.submit = await step(() =>
  submitNotificationHubJob(context, { type: "ExportRegistrations", outputContainerUrl: containerUrl }),
);
// The poller is a thenable: awaiting beginSubmitNotificationHubJob polls until the job is done.
async function untilDone(job) {
  const started = await beginSubmitNotificationHubJob(context, job, { updateIntervalInMs: 200 });
  return typeof started?.pollUntilDone === "function" ? await started.pollUntilDone() : started;
}
results.poll = await step(() =>
  untilDone({ type: "ImportUpsertRegistrations", outputContainerUrl: containerUrl, importFileUrl }),
);
if (results.submit.ok) {
  results.get = await step(() => getNotificationHubJob(context, results.submit.value.jobId));
}
results.list = await step(() => listNotificationHubJobs(context));
results.failing = await step(() =>
  untilDone({ type: "ExportRegistrations", outputContainerUrl: containerUrl.split("?")[0] }),
);
console.log(JSON.stringify(results));
