#!/usr/bin/env node
/**
 * A stand-in for the GT-Vision backends, for developing the dashboard and checking
 * scripts/e2e.mjs without the whole system: it serves dashboard/dist (SPA fallback) and
 * fakes the APIs the dashboard uses (SPEC §10 shapes), a live HLS stream made by ffmpeg's
 * test source, one recording, and WS /ws/alerts raising a watchlist alert every
 * GTV_MOCK_ALERT_EVERY_S seconds (default 20).
 *
 *   npm run build && node scripts/mock-backend.mjs           # http://127.0.0.1:8099
 *   users: operador / operador, visualizador / visualizador, admin / admin
 *
 * Not a test double for the services' behaviour: only for the UI's own checks.
 */
import { createServer } from "node:http";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { WebSocketServer } from "ws";

const PORT = Number(process.env.GTV_MOCK_PORT ?? 8099);
const DIST = resolve(process.env.GTV_MOCK_DIST ?? new URL("../dist", import.meta.url).pathname);
const ALERT_EVERY = 1000 * Number(process.env.GTV_MOCK_ALERT_EVERY_S ?? 20);
const ACCESS_LIFETIME_S = Number(process.env.GTV_MOCK_ACCESS_LIFETIME_S ?? 300);
const WORK = mkdtempSync(join(tmpdir(), "gtv-mock-"));
const TENANT = "7d4f1c52-0000-4000-8000-000000000001";
const USERS = {
  operador: { id: randomUUID(), role: "operator" },
  visualizador: { id: randomUUID(), role: "viewer" },
  admin: { id: randomUUID(), role: "tenant_admin" },
};
const cameras = ["Av. Paulista x Consolação", "Terminal Bandeira", "Marginal Tietê km 12", "Praça da Sé"].map((name, i) => ({
  id: `c0000000-0000-4000-8000-00000000000${i + 1}`,
  tenant: TENANT,
  name,
  rtsp_url_masked: "rtsp://***@10.0.0.1/stream",
  location: null,
  zone: null,
  latitude: -23.56 + i / 100,
  longitude: -46.65,
  recording_mode: "continuous",
  retention_days: 90,
  lpr_enabled: true,
  status: "active",
  metadata: {},
}));

// --- media: one live HLS test stream (shared by every camera) and one recorded segment ---
const liveDir = join(WORK, "live");
mkdirSync(liveDir);
const ffmpeg = spawn(
  "ffmpeg",
  ["-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=10", "-c:v", "libx264", "-preset", "ultrafast",
   "-tune", "zerolatency", "-g", "10", "-pix_fmt", "yuv420p", "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
   "-hls_flags", "delete_segments+omit_endlist", join(liveDir, "index.m3u8")],
  { stdio: ["ignore", "inherit", "inherit"] },
);
const recordingFile = join(WORK, "segment.mp4");
spawnSync("ffmpeg", ["-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=10", "-t", "60", "-c:v", "libx264",
  "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", recordingFile]);
// A plate crop: a tiny SVG is enough for the UI.
const crop = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="84"><rect width="256" height="84" fill="#eee"/><rect width="256" height="18" fill="#1d4ed8"/><text x="128" y="70" font-size="44" font-family="monospace" text-anchor="middle">ABC1D23</text></svg>',
);

// --- state ---
const refreshTokens = new Map(); // token -> username (rotating)
const revoked = new Set();
const watchlists = [{ id: randomUUID(), name: "Veículos roubados", description: "SSP-SP", created_by: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString() }];
const entries = new Map([[watchlists[0].id, [{ id: randomUUID(), watchlist_id: watchlists[0].id, plate: "ABC1D23", is_exact: true, reason: "Roubo registrado", severity: "high", active_from: null, active_until: null, created_by: null, created_at: new Date().toISOString() }]]]);
const detections = [];
const alerts = [];
const feed = []; // [{id, event}]
let seq = 0;
const exportsById = new Map();
const recStart = new Date(Date.now() - 30 * 60_000);

function b64url(obj) {
  return Buffer.from(JSON.stringify(obj)).toString("base64url");
}
function issue(username) {
  const user = USERS[username];
  const access = `${b64url({ alg: "RS256", typ: "JWT" })}.${b64url({ user_id: user.id, sub: user.id, username, tenant_id: TENANT, roles: [user.role], exp: Math.floor(Date.now() / 1000) + ACCESS_LIFETIME_S, jti: randomUUID() })}.mock`;
  const refresh = randomUUID();
  refreshTokens.set(refresh, username);
  return { access, refresh };
}
function claimsOf(req) {
  const auth = req.headers.authorization ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : new URL(req.url, "http://x").searchParams.get("token");
  return verify(token);
}
function verify(token) {
  if (!token || revoked.has(token)) return null;
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
    return claims.exp * 1000 > Date.now() ? claims : null;
  } catch {
    return null;
  }
}
const RANK = { viewer: 1, operator: 2, tenant_admin: 3 };
const atLeast = (claims, role) => claims && RANK[claims.roles[0]] >= RANK[role];

function send(res, status, body, headers = {}) {
  const data = body === null ? "" : typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(data);
}
const error = (res, status, code, message, details = {}) => send(res, status, { error: { code, message, details } });
const page = (items, url) => {
  const p = Number(url.searchParams.get("page") ?? 1);
  const size = Number(url.searchParams.get("page_size") ?? 25);
  return { items: items.slice((p - 1) * size, p * size), count: items.length, page: p, page_size: size };
};
async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : {};
}

function publish(type, payload) {
  const id = `${Date.now()}-${seq++}`;
  const event = { event_id: randomUUID(), type, version: 1, occurred_at: new Date().toISOString(), tenant_id: TENANT, correlation_id: randomUUID(), producer: "mock", payload };
  feed.push({ id, event });
  for (const client of wss.clients) if (client.readyState === 1) client.send(JSON.stringify({ ...event, id }));
}

function simulateVehicle() {
  const camera = cameras[seq % cameras.length];
  const plate = seq % 2 === 0 ? "ABC1D23" : `XYZ${String(1000 + (seq % 9000))}`;
  const detection = { id: randomUUID(), camera_id: camera.id, plate, plate_style: /\d[A-Z]\d\d$/.test(plate) ? "mercosul" : "old", confidence: 0.93, detected_at: new Date().toISOString(), bbox: [10, 10, 120, 40], crop_url: null };
  detection.crop_url = `/api/ai/detections/${detection.id}/crop`;
  detections.unshift(detection);
  publish("PlateDetected", { detection_id: detection.id, camera_id: camera.id, tenant_id: TENANT, plate, confidence: 0.93, detected_at: detection.detected_at, crop_url: detection.crop_url, bbox: detection.bbox });
  const hit = [...entries.values()].flat().find((e) => e.plate === plate);
  if (hit) {
    const alert = { id: randomUUID(), detection_id: detection.id, watchlist_id: hit.watchlist_id, watchlist_entry_id: hit.id, camera_id: camera.id, plate, severity: hit.severity, reason: hit.reason, status: "new", raised_at: new Date().toISOString(), acknowledged_by: null, acknowledged_at: null };
    alerts.unshift(alert);
    publish("AlertRaised", { alert_id: alert.id, detection_id: detection.id, watchlist_entry_id: hit.id, camera_id: camera.id, tenant_id: TENANT, plate, severity: alert.severity, reason: alert.reason, raised_at: alert.raised_at, crop_url: detection.crop_url });
  }
}
setInterval(simulateVehicle, ALERT_EVERY / 2).unref();

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".map": "application/json", ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".mp4": "video/mp4" };
// The Content-Security-Policy of tools/static_server.py, so the UI is checked under it.
const CSP =
  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: data: http: https:; " +
  "connect-src 'self' ws: wss: http: https:; style-src 'self' 'unsafe-inline'; " +
  "script-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'";
function file(res, path, cache = "no-cache") {
  if (!existsSync(path) || !statSync(path).isFile()) return error(res, 404, "not_found", "not found");
  const headers = { "Content-Type": TYPES[extname(path)] ?? "application/octet-stream", "Cache-Control": cache };
  if (path.endsWith(".html")) headers["Content-Security-Policy"] = CSP;
  res.writeHead(200, headers);
  res.end(readFileSync(path));
}

async function api(req, res, url) {
  const p = url.pathname;
  const m = req.method;
  if (p === "/api/admin/auth/token" && m === "POST") {
    const { username, password } = await body(req);
    if (!USERS[username] || password !== username) return error(res, 401, "authentication_failed", "No active account found with the given credentials.");
    return send(res, 200, issue(username));
  }
  if (p === "/api/admin/auth/refresh" && m === "POST") {
    const { refresh } = await body(req);
    const username = refreshTokens.get(refresh);
    if (!username) return error(res, 401, "authentication_failed", "Refresh token is invalid or expired.");
    refreshTokens.delete(refresh);
    return send(res, 200, issue(username));
  }
  let match;
  if ((match = p.match(/^\/api\/streaming\/live\/[^/]+\/([\w.-]+)$/))) {
    // Like the streaming service: a media token or the bearer JWT; the playlist is
    // rewritten so segments carry a fresh media token.
    const token = url.searchParams.get("token") ?? "";
    if (!token.startsWith("media-") && !claimsOf(req)) return error(res, 401, "not_authenticated", "a media token or a bearer token is required");
    if (!match[1].endsWith(".m3u8")) return file(res, join(liveDir, match[1]), "private, max-age=60");
    const path = join(liveDir, match[1]);
    if (!existsSync(path)) return error(res, 404, "not_found", "the stream has no such file (not started yet?)");
    const text = readFileSync(path, "utf8").split("\n").map((l) => (l && !l.startsWith("#") ? `${l}?token=media-${Date.now()}` : l)).join("\n");
    return send(res, 200, text, { "Content-Type": "application/vnd.apple.mpegurl", "Cache-Control": "no-cache, no-store" });
  }
  const claims = claimsOf(req);
  if (!claims) return error(res, 401, "not_authenticated", "invalid or expired token");
  if (p === "/api/admin/auth/logout" && m === "POST") {
    const { refresh } = await body(req);
    refreshTokens.delete(refresh);
    revoked.add(req.headers.authorization.slice(7));
    return send(res, 204, null);
  }
  if (p === "/api/admin/me") {
    const role = claims.roles[0];
    return send(res, 200, { id: claims.user_id, username: claims.username, email: "", first_name: "", last_name: "", tenant: TENANT, tenant_name: "Prefeitura de São Paulo", role, roles: [role], is_superadmin: false, last_login: null });
  }
  if (p === "/api/cidades/cameras/") {
    const pg = page(cameras, url);
    return send(res, 200, { count: pg.count, next: null, previous: null, results: pg.items });
  }
  if (p === "/api/streaming/streams/") {
    return send(res, 200, { items: cameras.map((c) => ({ camera_id: c.id, state: "live", engine: "ffmpeg", started_at: recStart.toISOString(), last_frame_at: new Date().toISOString(), bitrate_kbps: 300, restarts: 0, recording: true, error_code: null, error: null })), count: cameras.length });
  }
  if ((match = p.match(/^\/api\/streaming\/streams\/([^/]+)\/(start|stop)$/)) && m === "POST") {
    if (!atLeast(claims, "operator")) return error(res, 403, "permission_denied", "this action needs the operator role");
    if (match[2] === "stop") return send(res, 204, null);
    return send(res, 200, { camera_id: match[1], hls_url: `/api/streaming/live/${match[1]}/index.m3u8?token=media-${Date.now()}`, webrtc_url: null, status: "live", expires_in: 300 });
  }
  if ((match = p.match(/^\/api\/streaming\/cameras\/([^/]+)\/snapshot$/)) && m === "POST") {
    if (!atLeast(claims, "operator")) return error(res, 403, "permission_denied", "this action needs the operator role");
    return send(res, 201, { id: randomUUID(), camera_id: match[1], taken_at: new Date().toISOString(), content_type: "image/svg+xml", size_bytes: crop.length, width: 256, height: 84, url: "/mock-media/crop.svg" }, {});
  }
  if (p === "/api/streaming/recordings/") {
    const cam = url.searchParams.get("camera_id");
    const recs = [];
    for (let i = 0; i < 1440; i++) {
      const s = new Date(recStart.getTime() + i * 60_000);
      if (s.getTime() + 60_000 > Date.now()) break;
      recs.push({ id: `${cam.slice(0, 8)}-0000-4000-8000-${String(i).padStart(12, "0")}`, camera_id: cam, started_at: s.toISOString(), ended_at: new Date(s.getTime() + 60_000).toISOString(), size_bytes: 1_000_000 });
    }
    // The detections of the last minutes are "recorded" too.
    return send(res, 200, page(recs, url));
  }
  if ((match = p.match(/^\/api\/streaming\/recordings\/([^/]+)\/playback$/))) {
    return send(res, 200, { recording_id: match[1], url: "/mock-media/segment.mp4", expires_at: new Date(Date.now() + 600_000).toISOString() });
  }
  if (p === "/api/streaming/exports" && m === "POST") {
    if (!atLeast(claims, "operator")) return error(res, 403, "permission_denied", "this action needs the operator role");
    const b = await body(req);
    const job = { id: randomUUID(), camera_id: b.camera_id, start: b.start, end: b.end, status: "pending", error: null, size_bytes: null, download_url: null, created_at: new Date().toISOString(), completed_at: null };
    exportsById.set(job.id, { job, at: Date.now() });
    return send(res, 202, job);
  }
  if ((match = p.match(/^\/api\/streaming\/exports\/([^/]+)$/))) {
    const e = exportsById.get(match[1]);
    if (!e) return error(res, 404, "not_found", "export not found");
    const age = Date.now() - e.at;
    e.job.status = age > 4000 ? "done" : age > 1500 ? "running" : "pending";
    if (e.job.status === "done") Object.assign(e.job, { download_url: "/mock-media/segment.mp4", size_bytes: 1_000_000, completed_at: new Date().toISOString() });
    return send(res, 200, e.job);
  }
  if (p === "/api/ai/watchlists/" && m === "GET") return send(res, 200, page(watchlists, url));
  if (p === "/api/ai/watchlists/" && m === "POST") {
    if (!atLeast(claims, "operator")) return error(res, 403, "permission_denied", "this action needs the operator role");
    const b = await body(req);
    const w = { id: randomUUID(), name: b.name, description: b.description ?? "", created_by: claims.user_id, created_at: new Date().toISOString(), updated_at: new Date().toISOString() };
    watchlists.push(w);
    entries.set(w.id, []);
    return send(res, 201, w);
  }
  if ((match = p.match(/^\/api\/ai\/watchlists\/([^/]+)\/entries\/(?:([^/]+))?$/))) {
    const list = entries.get(match[1]);
    if (!list) return error(res, 404, "watchlist_not_found", "watchlist not found");
    if (m === "GET") return send(res, 200, list);
    if (!atLeast(claims, "operator")) return error(res, 403, "permission_denied", "this action needs the operator role");
    if (m === "POST") {
      const b = await body(req);
      if (!/^[A-Z0-9*?]{1,8}$/.test(b.plate ?? "")) return error(res, 400, "validation_error", "the request is invalid", { errors: [{ loc: ["body", "plate"], msg: "invalid plate", type: "value_error" }] });
      const e = { id: randomUUID(), watchlist_id: match[1], plate: b.plate, is_exact: !/[*?]/.test(b.plate), reason: b.reason ?? "", severity: b.severity ?? "medium", active_from: null, active_until: null, created_by: claims.user_id, created_at: new Date().toISOString() };
      list.push(e);
      return send(res, 201, e);
    }
    if (m === "DELETE") {
      entries.set(match[1], list.filter((e) => e.id !== match[2]));
      return send(res, 204, null);
    }
  }
  if ((match = p.match(/^\/api\/ai\/watchlists\/([^/]+)$/)) && m === "DELETE") {
    const i = watchlists.findIndex((w) => w.id === match[1]);
    if (i >= 0) watchlists.splice(i, 1);
    return send(res, 204, null);
  }
  if ((match = p.match(/^\/api\/ai\/detections\/([^/]+)\/crop$/))) return send(res, 200, crop, { "Content-Type": "image/svg+xml" });
  if (p === "/api/ai/detections/") {
    const q = (url.searchParams.get("plate") ?? "").toUpperCase();
    const cam = url.searchParams.get("camera_id");
    const found = detections.filter((d) => {
      if (cam && d.camera_id !== cam) return false;
      if (!q) return true;
      if (q.startsWith("~")) return d.plate.slice(0, 3) === q.slice(1, 4);
      if (q.endsWith("*")) return d.plate.startsWith(q.slice(0, -1));
      return d.plate === q;
    });
    return send(res, 200, page(found, url));
  }
  if (p === "/api/ai/alerts/") {
    const status = url.searchParams.get("status");
    return send(res, 200, page(alerts.filter((a) => !status || a.status === status), url));
  }
  if ((match = p.match(/^\/api\/ai\/alerts\/([^/]+)\/ack$/)) && m === "POST") {
    if (!atLeast(claims, "operator")) return error(res, 403, "permission_denied", "this action needs the operator role");
    const alert = alerts.find((a) => a.id === match[1]);
    if (!alert) return error(res, 404, "alert_not_found", "alert not found");
    if (alert.status === "new") {
      Object.assign(alert, { status: "acknowledged", acknowledged_by: claims.user_id, acknowledged_at: new Date().toISOString() });
      publish("AlertAcknowledged", { alert_id: alert.id, tenant_id: TENANT, user_id: claims.user_id, acknowledged_at: alert.acknowledged_at });
    }
    return send(res, 200, alert);
  }
  return error(res, 404, "not_found", "Not found.");
}

const server = createServer((req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  if (url.pathname.startsWith("/api/")) {
    api(req, res, url).catch((e) => error(res, 500, "internal_error", String(e)));
    return;
  }
  if (url.pathname === "/mock-media/segment.mp4") return file(res, recordingFile);
  if (url.pathname === "/mock-media/crop.svg") return send(res, 200, crop, { "Content-Type": "image/svg+xml" });
  const path = normalize(join(DIST, decodeURIComponent(url.pathname)));
  if (path.startsWith(DIST) && existsSync(path) && statSync(path).isFile()) return file(res, path, url.pathname.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  return file(res, join(DIST, "index.html"));
});

const wss = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname !== "/ws/alerts") return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const claims = verify(url.searchParams.get("token"));
    if (!claims) return ws.close(4401, "invalid or revoked token");
    const resume = url.searchParams.get("last_event_id");
    ws.send(JSON.stringify({ type: "welcome", tenant_id: TENANT, last_event_id: resume ?? feed.at(-1)?.id ?? "0-0" }));
    if (resume) for (const { id, event } of feed) if (id > resume) ws.send(JSON.stringify({ ...event, id }));
    const ping = setInterval(() => ws.readyState === 1 && ws.send(JSON.stringify({ type: "ping", at: Date.now() / 1000 })), 15_000);
    ws.on("close", () => clearInterval(ping));
  });
});

server.listen(PORT, "127.0.0.1", () => console.log(`GT-Vision mock backend on http://127.0.0.1:${PORT} (dist: ${DIST}, media: ${WORK})`));
const stop = () => {
  ffmpeg.kill("SIGTERM");
  server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
