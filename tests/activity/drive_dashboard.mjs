// Drives the dashboard in headless Chromium as a user would, and prints what the page showed
// as one JSON object. Argument: a JSON object with base, connectionString, hub,
// wrongConnectionString (a key the hub does not have), notificationId, installationId and
// artifacts (a folder). The charts come from the hub's live metrics route; a second pass
// answers that route with a 404, as a Herald with metrics off does.
import { chromium } from "playwright-core";

const input = JSON.parse(process.argv[2]);
const seen = { foreignRequests: [], consoleErrors: [] };

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.setDefaultTimeout(30000);
  const origin = new URL(input.base).origin;
  page.on("request", (request) => {
    if (new URL(request.url()).origin !== origin) seen.foreignRequests.push(request.url());
  });
  page.on("console", (message) => {
    // The browser logs every 4xx it loads (the refused sign-in, the absent metrics route);
    // the page shows those itself. Anything else is a fault of the page.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      seen.consoleErrors.push(message.text());
    }
  });
  page.on("pageerror", (error) => seen.consoleErrors.push(String(error)));

  await page.goto(`${input.base}/dashboard`);
  await page.fill("#connection-string", input.wrongConnectionString);
  await page.fill("#hub", input.hub);
  await page.click("#sign-in button[type=submit]");
  await page.locator("#sign-in-error:not(:empty)").waitFor();
  seen.signInError = await page.textContent("#sign-in-error");
  seen.panelHiddenAfterRefusal = await page.locator("#hub-panel").isHidden();

  await page.fill("#connection-string", input.connectionString);
  await page.fill("#hub", input.hub);
  await page.click("#sign-in button[type=submit]");
  const row = page.locator(`tr[data-notification-id="${input.notificationId}"]`);
  await row.waitFor();
  seen.row = await row.locator("td").allTextContents();
  await page.locator("#chart-deliveries svg.stacked").waitFor();
  seen.chartBars = await page.locator("#chart-deliveries svg.stacked rect").count();
  seen.failureBars = await page.locator("#chart-failures svg.bars text").allTextContents();
  seen.registryBars = await page.locator("#chart-registry svg.bars text").allTextContents();
  seen.platformTable = await page.locator("#table-platforms").innerText();
  seen.metricsHidden = await page.locator("#metrics-message").isHidden();
  seen.chartsShown = await page.locator("#charts").isVisible();
  seen.storedSession = await page.evaluate(() => sessionStorage.getItem("herald.dashboard") !== null);

  await row.click();
  await page.locator("#details").waitFor();
  seen.detailsId = await page.textContent("#details-id");
  seen.summary = await page.locator("#details-summary").innerText();
  seen.failures = await page.locator("#details-failures tbody tr").evaluateAll(
    (rows) => rows.map((tr) => [...tr.cells].map((td) => td.textContent)));

  await page.fill("#trace-installation", input.installationId);
  await page.click("#trace-form button[type=submit]");
  await page.locator("#trace-result").waitFor();
  seen.trace = await page.locator("#trace-result tbody tr").evaluateAll(
    (rows) => rows.map((tr) => [...tr.cells].map((td) => td.textContent)));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${input.artifacts}/dashboard.png`, fullPage: true });

  // Second pass: no metrics route (metrics off), said plainly instead of charts.
  await page.route("**/metrics?**", (route) =>
    route.fulfill({ status: 404, contentType: "application/xml", body: "<Error><Code>404</Code><Detail>Not found</Detail></Error>" }));
  await page.click("#refresh");
  await page.locator("#metrics-message").waitFor();
  seen.metricsMessage = await page.textContent("#metrics-message");
  seen.chartsHiddenWithoutMetrics = await page.locator("#charts").isHidden();
  await page.screenshot({ path: `${input.artifacts}/dashboard-no-metrics.png`, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(seen));
