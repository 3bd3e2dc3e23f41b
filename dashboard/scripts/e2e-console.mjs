#!/usr/bin/env node
/**
 * End-to-end check of the city's admin console and the reports, against a running
 * GT-Vision (the demo) through HAProxy, in Debian's headless Chromium (playwright-core).
 *
 *   GTV_E2E_BASE_URL=http://127.0.0.1:8080 \
 *   GTV_E2E_ADMIN_USER=... GTV_E2E_ADMIN_PASS=...     (a tenant admin)
 *   GTV_E2E_VIEWER_USER=... GTV_E2E_VIEWER_PASS=...
 *   GTV_E2E_CAMERA_URL=rtsp://user:pass@127.0.0.1:8554/cam1   (a camera that works)
 *   GTV_E2E_PLATE=BRA2E19                                     (a plate the simulator shows)
 *   node scripts/e2e-console.mjs [screenshot-dir]
 *
 * As the tenant admin: create a camera, "Testar conexão" with a failing URL (a reason, no
 * save) then the working one (codec, size, fps), save it, place it on the map, click its
 * marker to open it live; create a user and deactivate it; invite one, who sets a password
 * through the link and then changes it from the header; find both in the audit log and
 * in its CSV export; open each report with data. As the viewer: no console, no reports.
 * Screenshots and summary.json go to the given directory. Exits non-zero on a failure.
 *
 * Optional: GTV_E2E_CHROMIUM (default /usr/bin/chromium), GTV_E2E_DATA_TIMEOUT_S (how long
 * to wait for the simulator's plate reads to reach the reports, default 180).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { chromium } from "playwright-core";

const env = process.env;
const BASE = (env.GTV_E2E_BASE_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const OUT = resolve(process.argv[2] ?? env.GTV_E2E_ARTIFACTS ?? "e2e-console-artifacts");
const CHROMIUM = env.GTV_E2E_CHROMIUM ?? "/usr/bin/chromium";
const DATA_TIMEOUT = 1000 * Number(env.GTV_E2E_DATA_TIMEOUT_S ?? 180);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required", "--mute-audio"];
const RUN = Date.now().toString(36);
const CAMERA_NAME = `E2E Câmera ${RUN}`;
const USERNAME = `e2e-user-${RUN}`;

const summary = { base_url: BASE, started_at: new Date().toISOString(), steps: [], ok: false };
let currentPage = null;

function need(name) {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function step(name, fn) {
  const t0 = Date.now();
  process.stdout.write(`• ${name} … `);
  try {
    const detail = await fn();
    summary.steps.push({ name, ok: true, ms: Date.now() - t0, ...(detail ?? {}) });
    console.log(`ok (${((Date.now() - t0) / 1000).toFixed(1)} s)${detail ? " " + JSON.stringify(detail) : ""}`);
    return detail;
  } catch (error) {
    summary.steps.push({ name, ok: false, ms: Date.now() - t0, error: String(error?.message ?? error) });
    console.log("FAILED");
    throw error;
  }
}

async function shot(page, name) {
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
}

async function newPage(browser, label) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "pt-BR", timezoneId: "America/Sao_Paulo", acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.log(`  [${label} page error] ${err.message}`));
  page.on("dialog", (dialog) => {
    // Confirmations (deactivate) are accepted; the password prompt is not used here.
    void dialog.accept();
  });
  currentPage = page;
  return page;
}

async function login(page, user, pass) {
  await page.goto(`${BASE}/login`, { waitUntil: "domcontentloaded" });
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(pass);
  await page.getByTestId("login-submit").click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 20_000 });
  await page.getByTestId("user-name").waitFor();
}

/** A failing variant of a working camera URL: the same simulator with a wrong password. */
function failingUrl(working) {
  const url = new URL(working);
  url.password = "not-the-password";
  url.username = url.username || "demo";
  return url.toString();
}

async function probe(page, url) {
  await page.getByTestId("camera-url").fill(url);
  await page.getByTestId("camera-test").click();
  const result = page.getByTestId("probe-result");
  await result.waitFor({ timeout: 40_000 });
  return { ok: await result.getAttribute("data-ok"), reason: await result.getAttribute("data-reason"), text: await result.textContent() };
}

async function downloadText(page, trigger) {
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 20_000 }), trigger()]);
  const path = await download.path();
  return readFileSync(path, "utf8");
}

async function adminFlow(browser) {
  const page = await newPage(browser, "admin");
  const cameraUrl = need("GTV_E2E_CAMERA_URL");
  let cameraId = null;

  await step("tenant admin logs in and opens the console", async () => {
    await login(page, need("GTV_E2E_ADMIN_USER"), need("GTV_E2E_ADMIN_PASS"));
    await page.getByTestId("nav-admin").click();
    await page.getByTestId("camera-table").waitFor({ timeout: 20_000 });
    await shot(page, "c01-cameras");
    return { cameras: await page.getByTestId("camera-row").count() };
  });

  await step("Testar conexão: a failing URL gives a reason, the working one codec/size/fps", async () => {
    await page.getByTestId("camera-new").click();
    await page.getByTestId("camera-name").fill(CAMERA_NAME);
    const bad = await probe(page, failingUrl(cameraUrl));
    await shot(page, "c02-probe-failed");
    if (bad.ok !== "false" || !bad.reason) throw new Error(`the failing URL probed as ${JSON.stringify(bad)}`);
    const good = await probe(page, cameraUrl);
    await shot(page, "c03-probe-ok");
    if (good.ok !== "true" || !/\d+×\d+/.test(good.text ?? "")) throw new Error(`the working URL probed as ${JSON.stringify(good)}`);
    return { failing: bad.reason, working: good.text };
  });

  await step("the camera is saved and listed", async () => {
    await page.getByTestId("camera-save").click();
    const row = page.locator(`[data-testid=camera-row][data-camera="${CAMERA_NAME}"]`);
    await row.waitFor({ timeout: 20_000 });
    const href = await row.locator("a").first().getAttribute("href");
    cameraId = new URL(href, BASE).searchParams.get("camera");
    await shot(page, "c04-camera-saved");
    return { camera_id: cameraId };
  });

  await step("the camera is placed on the map and its marker opens it live", async () => {
    await page.goto(`${BASE}/console/map?place=${cameraId}`);
    await page.getByTestId("map-hint").waitFor({ timeout: 20_000 });
    const map = page.getByTestId("map");
    const box = await map.boundingBox();
    // Off-centre: the map is fitted to the existing cameras, whose markers sit in the middle.
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.3);
    await page.getByTestId("console-notice").waitFor({ timeout: 20_000 });
    const marker = page.locator(`path.camera-${cameraId}`);
    await marker.waitFor({ timeout: 20_000 });
    await shot(page, "c05-map");
    await marker.click({ force: true });
    await page.waitForURL((url) => url.pathname === "/live" && url.searchParams.get("camera") === cameraId, { timeout: 20_000 });
    const tile = page.locator(`[data-testid=live-tile]`).first();
    await tile.waitFor({ timeout: 20_000 });
    // Live: the tile's video advances (the tenant admin starts the stream as an operator).
    const deadline = Date.now() + 90_000;
    let first = null;
    while (Date.now() < deadline) {
      const times = await page.$$eval("video[data-testid=live-video]", (vs) => vs.map((v) => v.currentTime));
      const t = Math.max(0, ...times);
      if (first === null && t > 0) first = t;
      if (first !== null && t - first >= 2) {
        await shot(page, "c06-live-from-map");
        return { tiles: await page.getByTestId("live-tile").count(), advanced_s: Number((t - first).toFixed(1)) };
      }
      await page.waitForTimeout(1000);
    }
    await shot(page, "c06-live-from-map-not-playing");
    throw new Error("the camera opened from the map did not play");
  });

  await step("a user is created and deactivated", async () => {
    await page.goto(`${BASE}/console/users`);
    await page.getByTestId("user-new").click();
    await page.getByTestId("user-username").fill(USERNAME);
    await page.getByTestId("user-email").fill(`${USERNAME}@example.org`);
    await page.getByTestId("user-password").fill(`E2e-${RUN}-Strong-pass-9`);
    await page.getByTestId("user-new-role").selectOption("viewer");
    await page.getByTestId("user-save").click();
    const row = page.locator(`[data-testid=user-row][data-username="${USERNAME}"]`);
    await row.waitFor({ timeout: 20_000 });
    await shot(page, "c07-user-created");
    await row.getByTestId("user-deactivate").click();
    await page.locator(`[data-testid=user-row][data-username="${USERNAME}"][data-active="false"]`).waitFor({ timeout: 20_000 });
    await shot(page, "c08-user-deactivated");
    return { username: USERNAME };
  });

  await step("an invited user sets their password through the one-time link, then changes it", async () => {
    const invited = `${USERNAME}-inv`;
    await page.goto(`${BASE}/console/users`);
    await page.getByTestId("user-invite").click();
    await page.getByTestId("user-username").fill(invited);
    await page.getByTestId("user-new-role").selectOption("viewer");
    await page.getByTestId("user-save").click();
    const link = await page.getByTestId("invite-link").inputValue({ timeout: 20_000 });
    await shot(page, "c08b-user-invited");
    const context = await browser.newContext({ locale: "pt-BR", timezoneId: "America/Sao_Paulo" });
    try {
      const invitee = await context.newPage();
      await invitee.goto(link);
      // Nothing like the username: the similarity validator applies to invitees too.
      const invitedPassword = `Quasar-Lantern-${Math.floor(Math.random() * 1e6)}-Mosaic!`;
      await invitee.getByTestId("invite-password").fill(invitedPassword);
      await invitee.getByTestId("invite-confirm").fill(invitedPassword);
      await invitee.getByTestId("invite-submit").click();
      try {
        await invitee.getByTestId("invite-accepted").waitFor({ timeout: 20_000 });
      } catch (error) {
        await shot(invitee, "zz-invitee-failure");
        const text = (await invitee.locator("body").innerText()).slice(0, 500);
        throw new Error(`${error.message}\ninvitee page: ${text}`);
      }
      await shot(invitee, "c08c-invitation-accepted");
      // The new user signs in and changes their own password from the header's name.
      await login(invitee, invited, invitedPassword);
      await invitee.getByTestId("user-name").click();
      const changedPassword = `Nebula-Harbor-${Math.floor(Math.random() * 1e6)}-Quill!`;
      await invitee.getByTestId("password-current").fill(invitedPassword);
      await invitee.getByTestId("password-new").fill(changedPassword);
      await invitee.getByTestId("password-confirm").fill(changedPassword);
      await invitee.getByTestId("password-submit").click();
      await invitee.getByTestId("console-notice").waitFor({ timeout: 20_000 });
      await shot(invitee, "c08d-own-password-changed");
      const tokenWith = async (password) => (await invitee.request.post(`${BASE}/api/admin/auth/token`, { data: { username: invited, password } })).status();
      const [oldStatus, newStatus] = [await tokenWith(invitedPassword), await tokenWith(changedPassword)];
      if (oldStatus !== 401 || newStatus !== 200) throw new Error(`after the change the old password answered ${oldStatus}, the new ${newStatus}`);
    } finally {
      await context.close();
    }
    return { invited };
  });

  await step("both actions are in the audit log, its detail and its CSV", async () => {
    await page.goto(`${BASE}/console/audit`);
    await page.getByTestId("audit-object-type").fill("user");
    await page.getByTestId("audit-apply").click();
    await page.locator("[data-testid=audit-row][data-object-type=user]").first().waitFor({ timeout: 20_000 });
    const userRows = await page.locator("[data-testid=audit-row][data-object-type=user]").allTextContents();
    const actions = await page.locator("[data-testid=audit-row][data-object-type=user]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action")));
    if (!actions.includes("create") || !actions.includes("delete")) throw new Error(`user audit rows: ${JSON.stringify(actions)}`);
    await page.locator("[data-testid=audit-row][data-object-type=user][data-action=create]").first().click();
    const after = await page.getByTestId("audit-after").textContent();
    if (!after.includes(USERNAME)) throw new Error("the user's creation detail does not show the username");
    await shot(page, "c09-audit-users");
    const userCsv = await downloadText(page, () => page.getByTestId("audit-csv").click());
    if (!userCsv.includes(USERNAME)) throw new Error("the audit CSV does not hold the user");

    await page.getByTestId("audit-object-type").fill("camera");
    await page.getByTestId("audit-apply").click();
    await page.locator("[data-testid=audit-row][data-object-type=camera]").first().waitFor({ timeout: 20_000 });
    await shot(page, "c10-audit-cameras");
    const cameraCsv = await downloadText(page, () => page.getByTestId("audit-csv").click());
    if (!cameraCsv.includes(cameraId) || !cameraCsv.includes(CAMERA_NAME)) throw new Error("the audit CSV does not hold the camera");
    if (cameraCsv.includes("not-the-password")) throw new Error("a camera password reached the audit CSV");

    // The exports were audited too.
    await page.getByTestId("audit-object-type").fill("");
    await page.getByTestId("audit-action").fill("audit.export");
    await page.getByTestId("audit-apply").click();
    await page.locator("[data-testid=audit-row][data-action='audit.export']").first().waitFor({ timeout: 20_000 });
    return { user_rows: userRows.length, csv_bytes: userCsv.length + cameraCsv.length };
  });

  await step("each report opens with data from the simulator", async () => {
    const found = {};
    const deadline = Date.now() + DATA_TIMEOUT;
    for (;;) {
      await page.goto(`${BASE}/reports/traffic`);
      const kpi = page.getByTestId("kpi-reads").locator("strong");
      await kpi.waitFor({ timeout: 30_000 });
      found.reads = Number(await kpi.textContent());
      if (found.reads > 0 || Date.now() > deadline) break;
      await page.waitForTimeout(10_000);
    }
    if (!(found.reads > 0)) throw new Error("no plate reads reached the traffic report");
    await page.getByTestId("heatmap").waitFor();
    await shot(page, "c11-report-traffic");
    // The server-made PDF: a PDF file with the report's title and its total.
    const [pdf] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }),
      page.getByTestId("report-pdf-traffic").click()]);
    const pdfBytes = readFileSync(await pdf.path());
    found.pdf = pdfBytes.subarray(0, 5).toString("latin1");
    if (found.pdf !== "%PDF-") throw new Error(`the traffic PDF is not a PDF: ${found.pdf}`);
    await page.goto(`${BASE}/reports/availability`);
    await page.getByTestId("availability-table").waitFor({ timeout: 30_000 });
    found.availability_rows = await page.locator("[data-testid=availability-table] tbody tr").count();
    await shot(page, "c13-report-availability");
    await page.goto(`${BASE}/reports/plates`);
    await page.getByTestId("plate-input").fill(need("GTV_E2E_PLATE"));
    // The simulator shows its plates in turn: the watchlisted one may not have passed yet.
    for (;;) {
      await page.getByTestId("plate-search").click();
      const shown = await page.getByTestId("plate-count").waitFor({ timeout: 10_000 }).then(() => true, () => false);
      if (shown || Date.now() > deadline) break;
      await page.waitForTimeout(10_000);
    }
    await page.getByTestId("plate-count").waitFor({ timeout: 5_000 });
    found.plate_reads = await page.locator("[data-testid=plate-table] tr").count();
    await shot(page, "c14-report-plate-history");
    if (!(found.plate_reads > 0)) throw new Error("the plate history is empty");
    // The watchlisted plate has passed: its alert is in the alerts report.
    for (;;) {
      await page.goto(`${BASE}/reports/alerts`);
      found.alerts = Number(await page.getByTestId("kpi-alerts").locator("strong").textContent({ timeout: 30_000 }));
      if (found.alerts > 0 || Date.now() > deadline) break;
      await page.waitForTimeout(5_000);
    }
    await shot(page, "c12-report-alerts");
    if (!(found.alerts > 0)) throw new Error("no alert reached the alerts report");
    return found;
  });

  await step("the reports render in English too", async () => {
    await page.locator("#locale").selectOption("en");
    await page.goto(`${BASE}/reports/traffic`);
    await page.getByTestId("kpi-reads").waitFor({ timeout: 30_000 });
    const text = await page.getByTestId("kpi-reads").textContent();
    await shot(page, "c15-report-traffic-en");
    if (!text.includes("Total reads")) throw new Error(`not English: ${text}`);
    return {};
  });
  await page.context().close();
}

async function viewerFlow(browser) {
  const page = await newPage(browser, "viewer");
  await step("a viewer sees no console and no reports", async () => {
    await login(page, need("GTV_E2E_VIEWER_USER"), need("GTV_E2E_VIEWER_PASS"));
    const found = { admin: await page.getByTestId("nav-admin").count(), reports: await page.getByTestId("nav-reports").count() };
    await page.goto(`${BASE}/console/cameras`);
    await page.getByTestId("forbidden").waitFor({ timeout: 20_000 });
    found.camera_forms = await page.getByTestId("camera-new").count();
    await shot(page, "c16-viewer-console-refused");
    if (found.admin || found.reports || found.camera_forms) throw new Error(`viewer sees admin pages: ${JSON.stringify(found)}`);
    return found;
  });
  await page.context().close();
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  rmSync(`${OUT}/zz-failure.png`, { force: true });
  console.log(`GT-Vision console e2e against ${BASE} (screenshots in ${OUT})`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    await adminFlow(browser);
    await viewerFlow(browser);
    summary.ok = true;
  } catch (error) {
    console.error(`\nE2E FAILED: ${error?.stack ?? error}`);
    if (currentPage && !currentPage.isClosed()) await shot(currentPage, "zz-failure").catch(() => undefined);
    process.exitCode = 1;
  } finally {
    summary.finished_at = new Date().toISOString();
    writeFileSync(`${OUT}/summary.json`, JSON.stringify(summary, null, 2));
    await browser.close().catch(() => undefined);
  }
  if (summary.ok) console.log("\nE2E PASSED");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
