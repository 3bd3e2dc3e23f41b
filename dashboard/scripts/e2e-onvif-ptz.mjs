#!/usr/bin/env node
/**
 * End-to-end check of ONVIF onboarding and PTZ control in the dashboard, against a running
 * GT-Vision (the demo plus a simulated ONVIF PTZ camera) through HAProxy, in Debian's
 * headless Chromium (playwright-core). Driven by tests/e2e/test_onvif_ptz.py.
 *
 *   GTV_E2E_BASE_URL=http://127.0.0.1:8080
 *   GTV_E2E_ADMIN_USER/_PASS  GTV_E2E_OPERATOR_USER/_PASS  GTV_E2E_OPERATOR2_USER/_PASS
 *   GTV_E2E_VIEWER_USER/_PASS
 *   GTV_E2E_DEVICE_USER / GTV_E2E_DEVICE_PASS   the simulated camera's ONVIF credentials
 *   GTV_E2E_DISCOVER_NAME=ptz1   choose the camera of that name from "Discover cameras"
 *   (or GTV_E2E_DEVICE_URL=http://127.0.0.1:PORT/onvif/device_service: type its address)
 *   node scripts/e2e-onvif-ptz.mjs [artifact-dir]
 *
 * The tenant admin onboards the camera by ONVIF (a wrong password first: refused on the
 * password field) and watches it live; an operator holds the joystick and the picture
 * moves (the frames before and after are saved as PNG for the test to read the burned-in
 * pose), zooms with the keyboard, saves a preset, moves away and recalls it; a second
 * operator is refused by the lock; the tenant admin takes over; a viewer sees no PTZ
 * controls. Screenshots, frames and summary.json (statuses, camera id) go to the given
 * directory. Exits non-zero on a failure.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { chromium } from "playwright-core";

const env = process.env;
const BASE = (env.GTV_E2E_BASE_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const OUT = resolve(process.argv[2] ?? env.GTV_E2E_ARTIFACTS ?? "e2e-onvif-artifacts");
const CHROMIUM = env.GTV_E2E_CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required", "--mute-audio"];
const RUN = Date.now().toString(36);
const CAMERA_NAME = `E2E Dome ${RUN}`;
const PRESET_NAME = `Portão ${RUN}`;
// Generous: a loaded two-core machine, HLS latency of several seconds.
const WAIT = 90_000;
// The simulated picture's rows, as fractions of the frame's height (below the clock and
// the timestamp strip, above the bottom strip; the pose readout is inside: it moves too).
const PICTURE = [0.19, 0.88];

const summary = { base_url: BASE, started_at: new Date().toISOString(), steps: [], ok: false, camera_name: CAMERA_NAME, preset_name: PRESET_NAME, statuses: {}, frames: {} };
const pages = [];

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
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "pt-BR", timezoneId: "America/Sao_Paulo" });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.log(`  [${label} page error] ${err.message}`));
  page.on("dialog", (dialog) => void dialog.accept());
  pages.push(page);
  return page;
}

async function login(page, user, pass) {
  await page.goto(`${BASE}/login`, { waitUntil: "domcontentloaded" });
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(pass);
  await page.getByTestId("login-submit").click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 30_000 });
  await page.getByTestId("user-name").waitFor({ timeout: 30_000 });
}

/** The API as a user (status reads and lock refreshes the test needs besides the UI). */
async function apiToken(user, pass) {
  const response = await fetch(`${BASE}/api/admin/auth/token`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: user, password: pass }) });
  if (!response.ok) throw new Error(`login of ${user}: ${response.status}`);
  return (await response.json()).access;
}

async function api(token, method, path) {
  const response = await fetch(`${BASE}${path}`, { method, headers: { Authorization: `Bearer ${token}`, Accept: "application/json" } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}

async function until(what, fn, timeout = WAIT, every = 500) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Opens the camera enlarged on the live wall and waits for its video to advance. */
async function openLive(page, cameraId, { playing = true } = {}) {
  await page.goto(`${BASE}/live?camera=${cameraId}`);
  await page.locator(`[data-testid=live-tile][data-camera-id="${cameraId}"]`).waitFor({ timeout: 30_000 });
  if (!playing) return;
  let first = null;
  await until("the live video to play", async () => {
    const t = await page.$eval("video[data-testid=live-video]", (v) => v.currentTime).catch(() => 0);
    if (first === null && t > 0) first = t;
    return first !== null && t - first >= 2;
  }, 120_000, 1000);
}

/**
 * The video's current frame: a PNG at its own size, and a 160×90 grey thumbnail of the
 * picture itself (the simulator's clock and timestamp strips above and below it change
 * with every frame, so they are left out of the comparison).
 */
async function grab(page) {
  return page.$eval("video[data-testid=live-video]", (v, [PICTURE_TOP, PICTURE_BOTTOM]) => {
    const full = document.createElement("canvas");
    full.width = v.videoWidth;
    full.height = v.videoHeight;
    full.getContext("2d").drawImage(v, 0, 0);
    const small = document.createElement("canvas");
    small.width = 160;
    small.height = 90;
    const g = small.getContext("2d");
    g.drawImage(v, 0, v.videoHeight * PICTURE_TOP, v.videoWidth, v.videoHeight * (PICTURE_BOTTOM - PICTURE_TOP), 0, 0, 160, 90);
    const d = g.getImageData(0, 0, 160, 90).data;
    const grey = [];
    for (let i = 0; i < d.length; i += 4) grey.push((d[i] + d[i + 1] + d[i + 2]) / 3);
    return { png: full.toDataURL("image/png"), grey, width: v.videoWidth, height: v.videoHeight, time: v.currentTime };
  }, PICTURE);
}

function difference(a, b) {
  let sum = 0;
  for (let i = 0; i < a.grey.length; i++) sum += Math.abs(a.grey[i] - b.grey[i]);
  return sum / a.grey.length;
}

function saveFrame(frame, name) {
  writeFileSync(`${OUT}/${name}.png`, Buffer.from(frame.png.split(",", 2)[1], "base64"));
  summary.frames[name] = `${name}.png`;
}

/**
 * A frame once the picture has settled: two grabs, the video having played on between
 * them (a stalled video shows one frame, perhaps from the middle of a move), nearly equal.
 */
async function settledFrame(page, noise) {
  let previous = await grab(page);
  return until("the picture to settle", async () => {
    await page.waitForTimeout(1000);
    const next = await grab(page);
    if (next.time < previous.time + 0.5) return null;
    const still = difference(previous, next) <= noise;
    previous = next;
    return still ? next : null;
  });
}

/**
 * The picture after a move: first it must differ from ``reference`` (a frame from before
 * the move; the video lags the camera by a few seconds), then settle.
 */
async function movedFrame(page, reference, noise, what) {
  await until(what, async () => difference(reference, await grab(page)) > 4 * noise, WAIT, 1000);
  return settledFrame(page, noise);
}

/** Holds a pad button pressed with the mouse for ``ms``, then releases it. */
async function hold(page, testId, ms) {
  const button = page.getByTestId(testId);
  await button.hover();
  await page.mouse.down();
  await until(`${testId} to be active`, async () => (await page.getByTestId("ptz-overlay").getAttribute("data-active")) !== "", 10_000, 100);
  await page.waitForTimeout(ms);
  await page.mouse.up();
}

async function stillStatus(token, cameraId) {
  return until("the camera to stop", async () => {
    const status = await api(token, "GET", `/api/streaming/cameras/${cameraId}/ptz/status`);
    return status.moving ? null : status;
  });
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  rmSync(`${OUT}/zz-failure.png`, { force: true });
  console.log(`GT-Vision ONVIF/PTZ e2e against ${BASE} (artifacts in ${OUT})`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  const admin = await newPage(browser, "admin");
  let cameraId = null;
  try {
    await step("tenant admin onboards the camera by ONVIF (a wrong password is refused on its field)", async () => {
      await login(admin, need("GTV_E2E_ADMIN_USER"), need("GTV_E2E_ADMIN_PASS"));
      await admin.goto(`${BASE}/console/cameras`);
      await admin.getByTestId("camera-onvif").click();
      await admin.getByTestId("onvif-onboarding").waitFor();
      let discovered = null;
      if (!env.GTV_E2E_DEVICE_URL) {
        await admin.getByTestId("onvif-discover").click();
        const row = admin.locator(`[data-testid=onvif-result][data-name="${need("GTV_E2E_DISCOVER_NAME")}"]`);
        await row.waitFor({ timeout: 60_000 });
        discovered = await admin.getByTestId("onvif-result").count();
        await shot(admin, "o01-discovered");
        await row.getByTestId("onvif-choose").click();
      } else {
        await admin.getByTestId("onvif-device-url").fill(need("GTV_E2E_DEVICE_URL"));
      }
      await admin.getByTestId("onvif-name").fill(CAMERA_NAME);
      await admin.getByTestId("onvif-username").fill(need("GTV_E2E_DEVICE_USER"));
      await admin.getByTestId("onvif-password").fill("not-the-password");
      await admin.getByTestId("onvif-recording").selectOption("off");
      await admin.getByTestId("onvif-save").click();
      await admin.getByTestId("error-password").first().waitFor({ timeout: 60_000 });
      const refusal = await admin.getByTestId("error-password").first().textContent();
      await shot(admin, "o02-wrong-password");
      await admin.getByTestId("onvif-password").fill(need("GTV_E2E_DEVICE_PASS"));
      await admin.getByTestId("onvif-save").click();
      const row = admin.locator(`[data-testid=camera-row][data-camera="${CAMERA_NAME}"]`);
      await row.waitFor({ timeout: 60_000 });
      cameraId = await row.getAttribute("data-camera-id");
      summary.camera_id = cameraId;
      if ((await row.getAttribute("data-ptz")) !== "true") throw new Error("the onboarded camera has no PTZ");
      await shot(admin, "o03-onboarded");
      return { camera_id: cameraId, refusal, discovered, typed_device_url: discovered === null };
    });

    const operatorToken = await apiToken(need("GTV_E2E_OPERATOR_USER"), need("GTV_E2E_OPERATOR_PASS"));
    const operator = await newPage(browser, "operator");
    const operator2 = await newPage(browser, "operator2");

    await step("the tenant admin watches it live", async () => {
      await openLive(admin, cameraId);
      await admin.getByTestId("ptz-overlay").waitFor();
      await shot(admin, "o04-admin-live");
      return {};
    });

    let noise = 0;
    let before = null;
    let moved = null;
    let zoomedFrame = null;
    await step("an operator holds the joystick and the picture moves", async () => {
      await login(operator, need("GTV_E2E_OPERATOR_USER"), need("GTV_E2E_OPERATOR_PASS"));
      await openLive(operator, cameraId);
      await operator.getByTestId("ptz-overlay").waitFor();
      // The noise between two frames at rest (the picture has no other motion).
      const a = await grab(operator);
      await operator.waitForTimeout(1000);
      const b = await grab(operator);
      noise = Math.max(2, 3 * difference(a, b));
      before = await settledFrame(operator, noise);
      saveFrame(before, "f01-before-move");
      summary.statuses.before_move = await stillStatus(operatorToken, cameraId);
      await hold(operator, "ptz-right", 2000);
      const afterMove = await stillStatus(operatorToken, cameraId);
      summary.statuses.after_move = afterMove;
      if (!(afterMove.pan > summary.statuses.before_move.pan + 0.1)) throw new Error(`pan did not grow: ${JSON.stringify(summary.statuses)}`);
      // The video shows it once the new frames arrive (HLS lags a few seconds).
      moved = await movedFrame(operator, before, noise, "the picture to move");
      saveFrame(moved, "f02-after-move");
      await shot(operator, "o05-operator-moved");
      return { noise: Number(noise.toFixed(2)), difference: Number(difference(before, moved).toFixed(2)), before: summary.statuses.before_move, after: afterMove };
    });

    await step("the keyboard zooms in on the focused tile", async () => {
      const start = await stillStatus(operatorToken, cameraId);
      await operator.locator(`[data-testid=live-tile][data-camera-id="${cameraId}"]`).focus();
      await operator.keyboard.down("+");
      await operator.waitForTimeout(1500);
      await operator.keyboard.up("+");
      const zoomed = await stillStatus(operatorToken, cameraId);
      summary.statuses.after_zoom = zoomed;
      if (!(zoomed.zoom > start.zoom + 0.05)) throw new Error(`zoom did not grow: ${JSON.stringify([start, zoomed])}`);
      zoomedFrame = await movedFrame(operator, moved, noise, "the picture to zoom");
      return { zoom_before: start.zoom, zoom_after: zoomed.zoom };
    });

    await step("a preset is saved, the camera moves away and the preset brings it back", async () => {
      const at = await stillStatus(operatorToken, cameraId);
      summary.statuses.preset = at;
      const atFrame = zoomedFrame;
      saveFrame(atFrame, "f03-at-preset");
      await operator.getByTestId("ptz-preset-name").fill(PRESET_NAME);
      await operator.getByTestId("ptz-preset-save").click();
      const preset = operator.locator(`[data-testid=ptz-preset][data-name="${PRESET_NAME}"]`);
      await preset.waitFor({ timeout: 30_000 });
      await hold(operator, "ptz-up-left", 2000);
      const away = await stillStatus(operatorToken, cameraId);
      summary.statuses.away = away;
      if (Math.abs(away.pan - at.pan) < 0.1) throw new Error(`did not move away: ${JSON.stringify([at, away])}`);
      saveFrame(await movedFrame(operator, atFrame, noise, "the picture to leave the preset"), "f04-away");
      await shot(operator, "o06-preset-saved-and-away");
      await preset.getByTestId("ptz-preset-goto").click();
      const back = await until("the camera to reach the preset", async () => {
        const status = await api(operatorToken, "GET", `/api/streaming/cameras/${cameraId}/ptz/status`);
        const there = !status.moving && Math.abs(status.pan - at.pan) < 0.01 && Math.abs(status.tilt - at.tilt) < 0.01 && Math.abs(status.zoom - at.zoom) < 0.01;
        return there ? status : null;
      });
      summary.statuses.recalled = back;
      await until("the picture to show the preset again", async () => difference(atFrame, await grab(operator)) <= 2 * noise, WAIT, 1000);
      saveFrame(await settledFrame(operator, noise), "f05-recalled");
      await shot(operator, "o07-preset-recalled");
      return { preset: at, recalled: back };
    });

    await step("a second operator sees who steers and is refused", async () => {
      await login(operator2, need("GTV_E2E_OPERATOR2_USER"), need("GTV_E2E_OPERATOR2_PASS"));
      await openLive(operator2, cameraId, { playing: false });
      await operator2.getByTestId("ptz-overlay").waitFor();
      // The operator still steers (any command refreshes the lock; stop moves nothing).
      await api(operatorToken, "POST", `/api/streaming/cameras/${cameraId}/ptz/stop`);
      await operator2.getByTestId("ptz-left").click();
      await operator2.getByTestId("ptz-refused").waitFor({ timeout: 30_000 });
      const holder = await operator2.getByTestId("ptz-lock").getAttribute("data-holder");
      const text = await operator2.getByTestId("ptz-lock").textContent();
      const takeover = await operator2.getByTestId("ptz-takeover").count();
      await shot(operator2, "o08-second-operator-refused");
      if (holder !== need("GTV_E2E_OPERATOR_USER")) throw new Error(`holder shown: ${holder}`);
      if (takeover) throw new Error("an operator was offered to take over from another operator");
      return { holder, text };
    });

    await step("the tenant admin takes over and steers", async () => {
      await api(operatorToken, "POST", `/api/streaming/cameras/${cameraId}/ptz/stop`);
      await admin.getByTestId("ptz-left").click();
      await admin.getByTestId("ptz-takeover").waitFor({ timeout: 30_000 });
      const offered = await admin.getByTestId("ptz-lock").textContent();
      await shot(admin, "o09-admin-offered-takeover");
      await admin.getByTestId("ptz-takeover").click();
      await admin.locator("[data-testid=ptz-lock][data-mine=true]").waitFor({ timeout: 30_000 });
      const start = await stillStatus(operatorToken, cameraId);
      await hold(admin, "ptz-left", 1500);
      const after = await stillStatus(operatorToken, cameraId);
      summary.statuses.after_takeover = after;
      if (!(after.pan < start.pan - 0.05)) throw new Error(`the tenant admin's move did not move: ${JSON.stringify([start, after])}`);
      await shot(admin, "o10-admin-took-over");
      // The operator's next command is refused now: the tenant admin steers.
      await operator.getByTestId("ptz-right").click();
      await operator.getByTestId("ptz-refused").waitFor({ timeout: 30_000 });
      await shot(operator, "o11-operator-after-takeover");
      return { offered, pan_before: start.pan, pan_after: after.pan };
    });

    await step("the controls speak English too", async () => {
      await admin.locator("#locale").selectOption("en");
      await admin.locator("[data-testid=ptz-lock][data-mine=true]").waitFor({ timeout: 30_000 });
      const text = await admin.getByTestId("ptz-lock").textContent();
      if (!text.includes("You control this camera")) throw new Error(`not English: ${text}`);
      await shot(admin, "o12-english");
      return { text };
    });

    await step("a viewer sees the camera without PTZ controls", async () => {
      const viewer = await newPage(browser, "viewer");
      await login(viewer, need("GTV_E2E_VIEWER_USER"), need("GTV_E2E_VIEWER_PASS"));
      await openLive(viewer, cameraId, { playing: false });
      await viewer.waitForTimeout(2000);
      const found = { overlay: await viewer.getByTestId("ptz-overlay").count(), toggle: await viewer.getByTestId("ptz-toggle").count() };
      await shot(viewer, "o13-viewer-no-ptz");
      if (found.overlay || found.toggle) throw new Error(`viewer sees PTZ controls: ${JSON.stringify(found)}`);
      return found;
    });
    summary.ok = true;
  } catch (error) {
    console.error(`\nE2E FAILED: ${error?.stack ?? error}`);
    const last = pages.filter((p) => !p.isClosed());
    await Promise.all(last.map((p, i) => shot(p, `zz-failure-${i}`).catch(() => undefined)));
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
