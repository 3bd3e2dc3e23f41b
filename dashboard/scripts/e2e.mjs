#!/usr/bin/env node
/**
 * End-to-end check of the operators' dashboard against a running GT-Vision (the demo),
 * in Debian's headless Chromium driven by playwright-core (never a downloaded browser).
 *
 *   GTV_E2E_BASE_URL=http://127.0.0.1:8080 \
 *   GTV_E2E_OPERATOR_USER=... GTV_E2E_OPERATOR_PASS=... \
 *   GTV_E2E_VIEWER_USER=...   GTV_E2E_VIEWER_PASS=... \
 *   node scripts/e2e.mjs [screenshot-dir]
 *
 * As the operator: log in, see a live tile playing (video time advancing), receive a
 * watchlist alert, acknowledge it, find its plate in search, open its recording.
 * As the viewer: log in and see no operator or admin actions.
 * Screenshots (and summary.json) go to the directory given as the first argument, or
 * GTV_E2E_ARTIFACTS, or ./e2e-artifacts. Exits non-zero on the first failure.
 *
 * Optional:
 *   GTV_E2E_CHROMIUM             browser binary (default /usr/bin/chromium)
 *   GTV_E2E_ALERT_MODE           live (default: an alert raised while watching) | any
 *                                (an unacknowledged alert already listed counts too)
 *   GTV_E2E_PLATE                only an alert for this plate counts
 *   GTV_E2E_ALERT_TIMEOUT_S      default 240
 *   GTV_E2E_LIVE_TIMEOUT_S       default 90
 *   GTV_E2E_RECORDING_TIMEOUT_S  default 180 (segments are uploaded when complete)
 *   GTV_E2E_SMOKE=1              only check the login page renders (no credentials needed)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { chromium } from "playwright-core";

const env = process.env;
const BASE = (env.GTV_E2E_BASE_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const OUT = resolve(process.argv[2] ?? env.GTV_E2E_ARTIFACTS ?? "e2e-artifacts");
const CHROMIUM = env.GTV_E2E_CHROMIUM ?? "/usr/bin/chromium";
const SMOKE = env.GTV_E2E_SMOKE === "1";
const ALERT_MODE = env.GTV_E2E_ALERT_MODE === "any" ? "any" : "live";
const PLATE = (env.GTV_E2E_PLATE ?? "").toUpperCase().replace(/[^A-Z0-9]/g, "");
const seconds = (name, fallback) => 1000 * Number(env[name] ?? fallback);
const ALERT_TIMEOUT = seconds("GTV_E2E_ALERT_TIMEOUT_S", 240);
const LIVE_TIMEOUT = seconds("GTV_E2E_LIVE_TIMEOUT_S", 90);
const RECORDING_TIMEOUT = seconds("GTV_E2E_RECORDING_TIMEOUT_S", 180);
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--autoplay-policy=no-user-gesture-required",
  "--mute-audio",
];

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
    const ms = Date.now() - t0;
    summary.steps.push({ name, ok: true, ms, ...(detail && typeof detail === "object" ? detail : {}) });
    console.log(`ok (${(ms / 1000).toFixed(1)} s)${detail && typeof detail === "object" ? " " + JSON.stringify(detail) : ""}`);
    return detail;
  } catch (error) {
    summary.steps.push({ name, ok: false, ms: Date.now() - t0, error: String(error?.message ?? error) });
    console.log("FAILED");
    throw error;
  }
}

async function shot(page, name) {
  const path = `${OUT}/${name}.png`;
  await page.screenshot({ path, fullPage: false });
  return path;
}

async function newPage(browser, label) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "pt-BR", timezoneId: "America/Sao_Paulo" });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.log(`  [${label} page error] ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") console.log(`  [${label} console] ${msg.text().slice(0, 300)}`);
  });
  currentPage = page;
  return page;
}

async function login(page, user, pass) {
  await page.goto(`${BASE}/login`, { waitUntil: "domcontentloaded" });
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(pass);
  await page.getByTestId("login-submit").click();
  const outcome = await Promise.race([
    page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 20_000 }).then(() => "in"),
    page.getByTestId("login-error").waitFor({ timeout: 20_000 }).then(() => "error"),
  ]);
  if (outcome !== "in") throw new Error(`login refused: ${await page.getByTestId("login-error").textContent()}`);
  await page.getByTestId("user-name").waitFor();
}

/** Largest currentTime among the wall's videos (and which camera). */
async function videoTimes(page) {
  return page.$$eval("video[data-testid=live-video]", (videos) =>
    videos.map((v) => ({ camera: v.dataset.cameraId, t: v.currentTime, ready: v.readyState, paused: v.paused })),
  );
}

async function operatorFlow(browser) {
  const page = await newPage(browser, "operator");
  await step("operator logs in", async () => {
    await login(page, need("GTV_E2E_OPERATOR_USER"), need("GTV_E2E_OPERATOR_PASS"));
    const role = await page.getByTestId("user-role").textContent();
    return { role };
  });

  await step("a live tile plays (video time advances)", async () => {
    if (!page.url().includes("/live")) await page.goto(`${BASE}/live`);
    await page.getByTestId("live-tile").first().waitFor({ timeout: 20_000 });
    const deadline = Date.now() + LIVE_TIMEOUT;
    const first = new Map();
    while (Date.now() < deadline) {
      for (const v of await videoTimes(page)) {
        if (!first.has(v.camera) && v.t > 0) first.set(v.camera, { t: v.t, at: Date.now() });
        const f = first.get(v.camera);
        if (f && v.t - f.t >= 2 && Date.now() > f.at) {
          await shot(page, "01-live-wall");
          return { camera_id: v.camera, advanced_s: Number((v.t - f.t).toFixed(2)) };
        }
      }
      await page.waitForTimeout(1000);
    }
    await shot(page, "01-live-wall-not-playing");
    throw new Error(`no live video advanced within ${LIVE_TIMEOUT / 1000} s: ${JSON.stringify(await videoTimes(page))}`);
  });

  await step("the enlarged tile and the snapshot action are there", async () => {
    const tile = page.getByTestId("live-tile").first();
    await tile.click({ position: { x: 40, y: 40 } });
    await page.getByTestId("shrink").waitFor({ timeout: 5_000 });
    await page.getByTestId("snapshot").first().waitFor({ timeout: 5_000 });
    await page.getByTestId("shrink").click();
    return {};
  });

  const alert = await step(`an alert arrives (${ALERT_MODE})`, async () => {
    await page.goto(`${BASE}/alerts`);
    await page.getByTestId("live-status").waitFor();
    // Let the REST list load before taking the "already there" snapshot.
    await page.waitForLoadState("networkidle").catch(() => undefined);
    await page.waitForTimeout(1500);
    const before = new Set(await page.$$eval("[data-testid=alert-card]", (cards) => cards.map((c) => c.dataset.alertId)));
    const deadline = Date.now() + ALERT_TIMEOUT;
    while (Date.now() < deadline) {
      const cards = await page.$$eval("[data-testid=alert-card]", (els) =>
        els.map((c) => ({ id: c.dataset.alertId, plate: c.dataset.plate, status: c.dataset.status })),
      );
      const hit = cards.find(
        (c) => c.status === "new" && (!PLATE || c.plate === PLATE) && (ALERT_MODE === "any" || !before.has(c.id)),
      );
      if (hit) {
        const live = !before.has(hit.id);
        const toast = live ? await page.getByTestId("alert-toast").isVisible().catch(() => false) : false;
        const badge = await page.getByTestId("unacked-count").textContent().catch(() => null);
        await shot(page, "02-alert-received");
        if (!badge) throw new Error("the header shows no unacknowledged count while an alert is new");
        return { alert_id: hit.id, plate: hit.plate, live, toast, unacked_badge: badge };
      }
      await page.waitForTimeout(1000);
    }
    await shot(page, "02-no-alert");
    throw new Error(`no ${ALERT_MODE === "live" ? "new live " : "unacknowledged "}alert within ${ALERT_TIMEOUT / 1000} s`);
  });

  await step("the operator acknowledges it", async () => {
    const card = page.locator(`[data-testid=alert-card][data-alert-id="${alert.alert_id}"]`);
    await card.getByTestId("ack").click();
    await page.locator(`[data-testid=alert-card][data-alert-id="${alert.alert_id}"][data-status=acknowledged]`).waitFor({ timeout: 15_000 });
    await shot(page, "03-alert-acknowledged");
    return {};
  });

  const result = await step("the plate is found in search", async () => {
    await page.goto(`${BASE}/search?plate=${encodeURIComponent(alert.plate)}`);
    const item = page.locator(`[data-testid=search-result][data-plate="${alert.plate}"]`).first();
    await item.waitFor({ timeout: 20_000 });
    const count = await page.getByTestId("search-count").textContent();
    await shot(page, "04-plate-search");
    return { count };
  });
  void result;

  await step("its recording opens at that moment", async () => {
    const link = page.locator(`[data-testid=search-result][data-plate="${alert.plate}"]`).first().getByTestId("open-recording");
    const href = await link.getAttribute("href");
    await link.click();
    await page.waitForURL(/\/recordings/);
    const deadline = Date.now() + RECORDING_TIMEOUT;
    let last = "";
    while (Date.now() < deadline) {
      const state = await page.getByTestId("playback-video").evaluate((v) => ({
        src: v.currentSrc || v.getAttribute("src") || "",
        ready: v.readyState,
        t: v.currentTime,
        error: v.error ? v.error.code : null,
      }));
      last = JSON.stringify(state);
      if (state.src && state.ready >= 1 && state.error === null) {
        await page.waitForTimeout(1500);
        await shot(page, "05-recording");
        return { ready_state: state.ready, current_time: Number(state.t.toFixed(1)) };
      }
      // The segment holding the detection is uploaded once complete: reload to list it.
      const message = (await page.getByTestId("rec-message").textContent().catch(() => "")) ?? "";
      if (!state.src && (await page.getByTestId("rec-count").isVisible().catch(() => false))) {
        await page.waitForTimeout(10_000);
        if (Date.now() < deadline) await page.goto(`${BASE}${href}`);
        last += ` ${message}`;
        continue;
      }
      await page.waitForTimeout(1000);
    }
    await shot(page, "05-recording-missing");
    throw new Error(`no playable recording within ${RECORDING_TIMEOUT / 1000} s (${last})`);
  });

  await step("the operator logs out", async () => {
    await page.getByTestId("logout").click();
    await page.waitForURL(/\/login/, { timeout: 10_000 });
    // The revoked session does not come back on reload.
    await page.reload();
    await page.getByTestId("login-submit").waitFor({ timeout: 10_000 });
    return {};
  });
  await page.context().close();
}

async function viewerFlow(browser) {
  const page = await newPage(browser, "viewer");
  await step("viewer logs in", async () => {
    await login(page, need("GTV_E2E_VIEWER_USER"), need("GTV_E2E_VIEWER_PASS"));
    return { role: await page.getByTestId("user-role").textContent() };
  });
  await step("viewer sees no operator or admin actions", async () => {
    await page.goto(`${BASE}/live`);
    await page.getByTestId("live-tile").first().waitFor({ timeout: 20_000 });
    await page.waitForTimeout(1500);
    const found = {
      snapshot: await page.getByTestId("snapshot").count(),
      admin: await page.getByTestId("nav-admin").count(),
    };
    await shot(page, "06-viewer-live");
    await page.goto(`${BASE}/alerts`);
    await page.waitForLoadState("networkidle").catch(() => undefined);
    await page.waitForTimeout(1500);
    found.ack = await page.getByTestId("ack").count();
    found.alert_cards = await page.getByTestId("alert-card").count();
    await shot(page, "07-viewer-alerts");
    await page.goto(`${BASE}/watchlists`);
    await page.getByTestId("wl-readonly").waitFor({ timeout: 10_000 });
    found.watchlist_forms = (await page.getByTestId("wl-create").count()) + (await page.getByTestId("wl-add-entry").count());
    await page.goto(`${BASE}/recordings`);
    await page.getByTestId("rec-camera").waitFor({ timeout: 10_000 });
    found.export = await page.getByTestId("export-submit").count();
    await shot(page, "08-viewer-recordings");
    const shown = Object.entries(found).filter(([k, v]) => k !== "alert_cards" && v > 0);
    if (shown.length) throw new Error(`viewer sees operator/admin actions: ${JSON.stringify(found)}`);
    return found;
  });
  await page.context().close();
}

async function smokeFlow(browser) {
  const page = await newPage(browser, "smoke");
  await step("the login page renders", async () => {
    await page.goto(`${BASE}/`, { waitUntil: "domcontentloaded" });
    await page.getByTestId("login-submit").waitFor({ timeout: 15_000 });
    await page.waitForURL(/\/login/);
    await shot(page, "00-login");
    return { title: await page.title() };
  });
  await page.context().close();
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  console.log(`GT-Vision dashboard e2e against ${BASE} (screenshots in ${OUT})`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    await smokeFlow(browser);
    if (!SMOKE) {
      await operatorFlow(browser);
      await viewerFlow(browser);
    }
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
