/**
 * The PTZ overlay on a live tile against a scripted backend: press-and-hold moves (re-sent
 * while held, stopped on release), keyboard control, presets, the lock holder and the
 * take-over, the API's refusals translated, and no controls for viewers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, configure, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { App } from "../App";
import { AuthProvider } from "../auth/AuthContext";
import { AlertsProvider } from "../alerts/AlertsContext";
import { I18nProvider } from "../i18n/i18n";
import { AuthSession, REFRESH_STORAGE_KEY } from "../api/session";
import { ApiError } from "../api/errors";
import { lockedDetails } from "../api/ptz";
import { keyDirection, ptzErrorKey, MOVE_TIMEOUT_S } from "./PtzControl";
import { ManualTimers, MemoryStorage, accessToken, json, listPage, scriptedFetch, sessionDeps, type Call } from "../test/helpers";

const dome = { id: "c1", tenant: "t1", name: "Dome Praça", location: null, zone: null, latitude: null, longitude: null, recording_mode: "off", retention_days: 90, lpr_enabled: false, status: "active", metadata: {}, ptz: true };
const fixed = { ...dome, id: "c2", name: "Fixa", ptz: false };
const PTZ = "/api/streaming/cameras/c1/ptz/";
// A loaded machine renders the app slowly: generous waits, no timing asserted.
configure({ asyncUtilTimeout: 5000 });
vi.setConfig({ testTimeout: 30_000 });

class SilentSocket {
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  close() {}
  send() {}
}

type Handler = (call: Call, url: URL) => Response | undefined;

function renderLive(role: string, path: string, handler: Handler = () => undefined, locale: "pt-BR" | "en" = "en") {
  const timers = new ManualTimers();
  timers.now = Date.now();
  const storage = new MemoryStorage();
  storage.setItem(REFRESH_STORAGE_KEY, "r0");
  const server = scriptedFetch((call) => {
    const url = new URL(call.url, "http://localhost");
    const answer = handler(call, url);
    if (answer) return answer;
    switch (url.pathname) {
      case "/api/admin/auth/refresh":
        return json(200, { access: accessToken(timers.now, { roles: [role] }), refresh: "r1" });
      case "/api/admin/me":
        return json(200, { id: "u1", username: "ana", tenant: "t1", tenant_name: "Campinas", role, roles: [role], is_superadmin: false });
      case "/api/cidades/cameras/":
        return json(200, listPage([dome, fixed]));
      case "/api/ai/alerts/":
      case "/api/streaming/streams/":
        return json(200, listPage([]));
      case "/api/streaming/streams/c1/start":
      case "/api/streaming/streams/c2/start":
        return json(200, { camera_id: "c1", hls_url: "/api/streaming/live/c1/index.m3u8?token=t", webrtc_url: null, status: "starting", expires_in: 300 });
      case `${PTZ}lock`:
        if (call.method === "GET") return json(200, { held: false, mine: false });
        return json(200, { held: true, user_id: "u1", username: "ana", expires_in: 30, mine: true });
      case `${PTZ}presets`:
        if (call.method === "GET") return json(200, [{ token: "p1", name: "Portão" }]);
        return json(201, { token: "p2", name: (call.body as { name: string }).name });
      case `${PTZ}move`:
        return json(200, { stops_in_seconds: MOVE_TIMEOUT_S });
      case `${PTZ}stop`:
      case `${PTZ}home`:
      case `${PTZ}presets/p1/goto`:
      case `${PTZ}presets/p1`:
        return new Response(null, { status: 204 });
      default:
        return json(404, { error: { code: "not_found", message: "not found", details: {} } });
    }
  });
  vi.stubGlobal("fetch", server.fetch);
  vi.stubGlobal("WebSocket", SilentSocket);
  const session = new AuthSession(sessionDeps(server.fetch, timers, storage));
  render(
    <I18nProvider locale={locale}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider session={session}>
          <AlertsProvider>
            <App />
          </AlertsProvider>
        </AuthProvider>
      </MemoryRouter>
    </I18nProvider>,
  );
  return server;
}

const ptzCalls = (calls: Call[], rest: string, method = "POST") => calls.filter((c) => new URL(c.url, "http://x").pathname === PTZ + rest && c.method === method);

beforeEach(() => {
  vi.spyOn(HTMLMediaElement.prototype, "play").mockImplementation(() => Promise.resolve());
  vi.spyOn(HTMLMediaElement.prototype, "load").mockImplementation(() => undefined);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("PTZ helpers", () => {
  it("maps arrows and +/- to directions", () => {
    expect(keyDirection("ArrowLeft")).toBe("left");
    expect(keyDirection("ArrowUp")).toBe("up");
    expect(keyDirection("+")).toBe("zoom-in");
    expect(keyDirection("-")).toBe("zoom-out");
    expect(keyDirection("a")).toBeNull();
  });

  it("names the refusals it can explain", () => {
    expect(ptzErrorKey(new ApiError(429, "ptz_rate_limited", "slow down"))).toBe("ptz.error.rateLimited");
    expect(ptzErrorKey(new ApiError(502, "ptz_device_error", "no answer"))).toBe("ptz.error.device");
    expect(ptzErrorKey(new ApiError(403, "permission_denied", "no"))).toBe("ptz.error.forbidden");
    expect(ptzErrorKey(new ApiError(400, "validation_error", "bad"))).toBeNull();
  });

  it("reads the lock holder from a 409 ptz_locked", () => {
    const error = new ApiError(409, "ptz_locked", "locked", { holder: { user_id: "u9", username: "joao", expires_in: 12.5 }, can_take_over: true });
    expect(lockedDetails(error)).toEqual({ holder: { user_id: "u9", username: "joao", expires_in: 12.5 }, can_take_over: true });
    expect(lockedDetails(new ApiError(409, "conflict", "x"))).toBeNull();
  });
});

describe("PTZ overlay", () => {
  it("moves while a direction is held, re-sends the move, and stops on release", async () => {
    const server = renderLive("operator", "/live?camera=c1");
    const right = await screen.findByTestId("ptz-right");
    fireEvent.pointerDown(right);
    await waitFor(() => expect(ptzCalls(server.calls, "move")).toHaveLength(1));
    expect(ptzCalls(server.calls, "move")[0]!.body).toEqual({ pan: 0.5, tilt: 0, zoom: 0, timeout_seconds: MOVE_TIMEOUT_S });
    expect(screen.getByTestId("ptz-overlay").getAttribute("data-active")).toBe("right");
    // Held: the move is sent again before the server's deadline.
    await waitFor(() => expect(ptzCalls(server.calls, "move").length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    fireEvent.pointerUp(right);
    await waitFor(() => expect(ptzCalls(server.calls, "stop")).toHaveLength(1));
    expect(screen.getByTestId("ptz-overlay").getAttribute("data-active")).toBe("");
    const sent = ptzCalls(server.calls, "move").length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(ptzCalls(server.calls, "move")).toHaveLength(sent);
    // The tile stays enlarged: the pad's clicks do not reach it.
    fireEvent.click(right);
    expect(screen.getByTestId("shrink")).toBeTruthy();
  });

  it("is steered from the keyboard on the focused tile", async () => {
    const server = renderLive("operator", "/live?camera=c1");
    await screen.findByTestId("ptz-overlay");
    // The keys are listened for from a passive effect, which React may run a moment after
    // the overlay appears (it arrived with an async fetch): let pending effects run first.
    await act(async () => {});
    const tile = screen.getByTestId("live-tile");
    tile.focus();
    fireEvent.keyDown(tile, { key: "ArrowUp" });
    await waitFor(() => expect(ptzCalls(server.calls, "move")).toHaveLength(1));
    expect(ptzCalls(server.calls, "move")[0]!.body).toMatchObject({ pan: 0, tilt: 0.5, zoom: 0 });
    fireEvent.keyDown(tile, { key: "ArrowUp", repeat: true });
    fireEvent.keyUp(tile, { key: "ArrowUp" });
    await waitFor(() => expect(ptzCalls(server.calls, "stop")).toHaveLength(1));
    expect(ptzCalls(server.calls, "move")).toHaveLength(1);
    fireEvent.keyDown(tile, { key: "+" });
    await waitFor(() => expect(ptzCalls(server.calls, "move")).toHaveLength(2));
    expect(ptzCalls(server.calls, "move")[1]!.body).toMatchObject({ zoom: 0.5 });
    fireEvent.keyUp(tile, { key: "+" });
    await waitFor(() => expect(ptzCalls(server.calls, "stop")).toHaveLength(2));
    // Focus moving to a pad button keeps the move; focus leaving the tile stops it.
    fireEvent.keyDown(tile, { key: "ArrowLeft" });
    await waitFor(() => expect(ptzCalls(server.calls, "move")).toHaveLength(3));
    fireEvent.focusOut(tile, { relatedTarget: screen.getByTestId("ptz-home") });
    fireEvent.focusOut(tile, { relatedTarget: document.body });
    await waitFor(() => expect(ptzCalls(server.calls, "stop")).toHaveLength(3));
  });

  it("goes home, lists, saves, recalls and removes presets", async () => {
    const server = renderLive("operator", "/live?camera=c1");
    const preset = await screen.findByTestId("ptz-preset");
    expect(preset.textContent).toContain("Portão");
    fireEvent.click(within(preset).getByTestId("ptz-preset-goto"));
    await waitFor(() => expect(ptzCalls(server.calls, "presets/p1/goto")).toHaveLength(1));
    fireEvent.click(screen.getByTestId("ptz-home"));
    await waitFor(() => expect(ptzCalls(server.calls, "home")).toHaveLength(1));
    fireEvent.change(screen.getByTestId("ptz-preset-name"), { target: { value: "Escola" } });
    fireEvent.click(screen.getByTestId("ptz-preset-save"));
    await waitFor(() => expect(ptzCalls(server.calls, "presets")).toHaveLength(1));
    expect(ptzCalls(server.calls, "presets")[0]!.body).toEqual({ name: "Escola" });
    await waitFor(() => expect(ptzCalls(server.calls, "presets", "GET").length).toBeGreaterThanOrEqual(2));
    vi.spyOn(window, "confirm").mockReturnValue(true);
    fireEvent.click(within(screen.getAllByTestId("ptz-preset")[0]!).getByTestId("ptz-preset-remove"));
    await waitFor(() => expect(ptzCalls(server.calls, "presets/p1", "DELETE")).toHaveLength(1));
  });

  it("shows who steers and lets a higher role take over", async () => {
    let taken = false;
    const server = renderLive("tenant_admin", "/live?camera=c1", (call, url) => {
      if (url.pathname === `${PTZ}lock` && call.method === "GET" && !taken) {
        return json(200, { held: true, user_id: "u9", username: "joao", expires_in: 20, mine: false });
      }
      if (url.pathname === `${PTZ}lock` && call.method === "POST") {
        taken = true;
        return undefined;
      }
      if (url.pathname === `${PTZ}move` && !taken) {
        return json(409, { error: { code: "ptz_locked", message: "another user is steering this camera", details: { holder: { user_id: "u9", username: "joao", expires_in: 18 }, can_take_over: true } } });
      }
      return undefined;
    });
    const lock = await screen.findByTestId("ptz-lock");
    await waitFor(() => expect(lock.textContent).toContain("Controlled by joao, 20 s left"));
    expect(screen.queryByTestId("ptz-takeover")).toBeNull();
    fireEvent.pointerDown(screen.getByTestId("ptz-left"));
    fireEvent.pointerUp(screen.getByTestId("ptz-left"));
    fireEvent.click(await screen.findByTestId("ptz-takeover"));
    await waitFor(() => expect(ptzCalls(server.calls, "lock")).toHaveLength(1));
    expect(ptzCalls(server.calls, "lock")[0]!.body).toEqual({ takeover: true });
    await waitFor(() => expect(screen.getByTestId("ptz-lock").textContent).toContain("You control this camera (30 s left)"));
    expect(screen.queryByTestId("ptz-takeover")).toBeNull();
  });

  it("tells an operator of the same rank to wait, in Portuguese", async () => {
    renderLive(
      "operator",
      "/live?camera=c1",
      (_call, url) =>
        url.pathname === `${PTZ}move`
          ? json(409, { error: { code: "ptz_locked", message: "locked", details: { holder: { user_id: "u9", username: "joao", expires_in: 25 }, can_take_over: false } } })
          : undefined,
      "pt-BR",
    );
    fireEvent.pointerDown(await screen.findByTestId("ptz-down"));
    expect((await screen.findByTestId("ptz-refused")).textContent).toContain("joao está controlando esta câmera");
    expect(screen.getByTestId("ptz-lock").textContent).toContain("Controlada por joao, faltam 25 s");
    expect(screen.queryByTestId("ptz-takeover")).toBeNull();
  });

  it("explains a rate limit and a device error", async () => {
    renderLive("operator", "/live?camera=c1", (_call, url) => {
      if (url.pathname === `${PTZ}move`) return json(429, { error: { code: "ptz_rate_limited", message: "too many", details: { limit: 30, window_seconds: 10 } } });
      if (url.pathname === `${PTZ}home`) return json(502, { error: { code: "ptz_device_error", message: "camera refused", details: {} } });
      return undefined;
    });
    fireEvent.pointerDown(await screen.findByTestId("ptz-up"));
    expect((await screen.findByTestId("ptz-error")).textContent).toBe("Too many PTZ commands: wait a few seconds.");
    fireEvent.click(screen.getByTestId("ptz-home"));
    await waitFor(() => expect(screen.getByTestId("ptz-error").textContent).toBe("The camera refused or did not answer the command."));
  });

  it("is offered only on PTZ cameras, and toggled on grid tiles", async () => {
    renderLive("operator", "/live");
    const tiles = await screen.findAllByTestId("live-tile");
    const domeTile = tiles.find((t) => t.getAttribute("data-camera-id") === "c1")!;
    const fixedTile = tiles.find((t) => t.getAttribute("data-camera-id") === "c2")!;
    expect(within(fixedTile).queryByTestId("ptz-toggle")).toBeNull();
    expect(within(domeTile).queryByTestId("ptz-overlay")).toBeNull();
    fireEvent.click(within(domeTile).getByTestId("ptz-toggle"));
    expect(await within(domeTile).findByTestId("ptz-overlay")).toBeTruthy();
  });

  it("shows a viewer no PTZ controls and asks nothing of the PTZ API", async () => {
    const server = renderLive("viewer", "/live?camera=c1");
    await screen.findByTestId("live-tile");
    await waitFor(() => expect(server.calls.some((c) => c.url.includes("/api/cidades/cameras/"))).toBe(true));
    expect(screen.queryByTestId("ptz-overlay")).toBeNull();
    expect(screen.queryByTestId("ptz-toggle")).toBeNull();
    expect(server.calls.some((c) => c.url.includes("/ptz/"))).toBe(false);
  });
});
