/**
 * The whole app against a scripted backend: role gating (a viewer sees no operator or
 * admin actions) and the unacknowledged badge.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { App } from "./App";
import { AuthProvider } from "./auth/AuthContext";
import { AlertsProvider } from "./alerts/AlertsContext";
import { I18nProvider } from "./i18n/i18n";
import { AuthSession, REFRESH_STORAGE_KEY } from "./api/session";
import { ManualTimers, MemoryStorage, accessToken, json, listPage, scriptedFetch, sessionDeps } from "./test/helpers";

const camera = { id: "c1", tenant: "t1", name: "Av. Paulista x Consolação", location: null, zone: null, latitude: null, longitude: null, recording_mode: "continuous", retention_days: 90, lpr_enabled: true, status: "active", metadata: {} };
const alert = { id: "a1", detection_id: "d1", watchlist_id: "w1", watchlist_entry_id: "e1", camera_id: "c1", plate: "ABC1D23", severity: "high", reason: "Roubado", status: "new", raised_at: "2025-03-05T17:07:09Z", acknowledged_by: null, acknowledged_at: null };

class SilentSocket {
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  close() {}
  send() {}
}

interface Backend {
  streams?: unknown[];
  start?: () => Response;
  locale?: "pt-BR" | "en";
}

function renderApp(role: string, path: string, backend: Backend = {}) {
  const timers = new ManualTimers();
  timers.now = Date.now();
  const storage = new MemoryStorage();
  storage.setItem(REFRESH_STORAGE_KEY, "r0");
  const server = scriptedFetch((call) => {
    const url = new URL(call.url, "http://localhost");
    switch (url.pathname) {
      case "/api/admin/auth/refresh":
        return json(200, { access: accessToken(timers.now, { roles: [role] }), refresh: "r1" });
      case "/api/admin/me":
        return json(200, { id: "u1", username: "ana", tenant: "t1", tenant_name: "Prefeitura de Exemplo", role, roles: [role], is_superadmin: false });
      case "/api/cidades/cameras/":
        return json(200, listPage([camera]));
      case "/api/ai/alerts/":
        return json(200, url.searchParams.get("status") === "new" ? listPage([], 7) : listPage([alert]));
      case "/api/streaming/streams/":
        return json(200, listPage(backend.streams ?? []));
      case "/api/streaming/streams/c1/start":
        if (backend.start) return backend.start();
        return json(200, { camera_id: "c1", hls_url: "/api/streaming/live/c1/index.m3u8?token=t", webrtc_url: null, status: "starting", expires_in: 300 });
      default:
        return json(404, { error: { code: "not_found", message: "not found", details: {} } });
    }
  });
  vi.stubGlobal("fetch", server.fetch);
  vi.stubGlobal("WebSocket", SilentSocket);
  const session = new AuthSession(sessionDeps(server.fetch, timers, storage));
  render(
    <I18nProvider locale={backend.locale ?? "pt-BR"}>
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

beforeEach(() => {
  vi.spyOn(HTMLMediaElement.prototype, "play").mockImplementation(() => Promise.resolve());
  vi.spyOn(HTMLMediaElement.prototype, "load").mockImplementation(() => undefined);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("role-aware UI", () => {
  it("gives an operator acknowledge buttons and the unacknowledged count", async () => {
    renderApp("operator", "/alerts");
    const card = await screen.findByTestId("alert-card");
    expect(within(card).getByTestId("ack")).toBeTruthy();
    expect(card.textContent).toContain("Av. Paulista x Consolação");
    await waitFor(() => expect(screen.getByTestId("unacked-count").textContent).toBe("7"));
    expect(screen.queryByTestId("nav-admin")).toBeNull();
    expect(screen.getByTestId("user-role").textContent).toBe("Operador");
  });

  it("shows a viewer the alerts without acknowledge, admin or snapshot actions", async () => {
    const server = renderApp("viewer", "/alerts");
    const card = await screen.findByTestId("alert-card");
    expect(within(card).queryByTestId("ack")).toBeNull();
    expect(screen.queryByTestId("nav-admin")).toBeNull();
    cleanup();
    renderApp("viewer", "/live");
    await screen.findByTestId("live-tile");
    expect(screen.queryByTestId("snapshot")).toBeNull();
    // A viewer never asks to start a stream.
    expect(server.calls.some((c) => c.url.includes("/start"))).toBe(false);
  });

  it("gives an operator snapshot buttons and starts the tiles' streams", async () => {
    const server = renderApp("operator", "/live");
    await screen.findByTestId("snapshot");
    await waitFor(() => expect(server.calls.some((c) => c.url === "/api/streaming/streams/c1/start" && c.method === "POST")).toBe(true));
  });

  it("shows a tenant admin the administration link", async () => {
    renderApp("tenant_admin", "/watchlists");
    expect(await screen.findByTestId("nav-admin")).toBeTruthy();
  });

  it("sends an anonymous visitor to the login page", async () => {
    vi.stubGlobal("fetch", vi.fn());
    const session = new AuthSession(sessionDeps(vi.fn() as unknown as typeof fetch, new ManualTimers(), new MemoryStorage()));
    render(
      <I18nProvider locale="en">
        <MemoryRouter initialEntries={["/alerts"]}>
          <AuthProvider session={session}>
            <AlertsProvider>
              <App />
            </AlertsProvider>
          </AuthProvider>
        </MemoryRouter>
      </I18nProvider>,
    );
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeTruthy();
  });
});

describe("stream failures", () => {
  const failing = (state: string, code: string) => ({
    camera_id: "c1", state, engine: "ffmpeg", started_at: null, last_frame_at: null, bitrate_kbps: null,
    restarts: 3, recording: false, error_code: code, error: "The camera refused the configured credentials.",
  });

  it("shows a viewer why the stream is down, translated from the code", async () => {
    renderApp("viewer", "/live", { streams: [failing("reconnecting", "auth_failed")] });
    const note = await screen.findByTestId("stream-error");
    expect(note.dataset.code).toBe("auth_failed");
    expect(note.textContent).toBe("A câmera recusou o usuário ou a senha cadastrados.");
    // The server's own (English) sentence is not what is shown.
    expect(document.body.textContent).not.toContain("refused the configured credentials");
  });

  it("speaks English when asked", async () => {
    renderApp("viewer", "/live", { streams: [failing("failed", "address_not_allowed")], locale: "en" });
    expect((await screen.findByTestId("stream-error")).textContent).toBe(
      "The camera's address is not in a network cameras may use.",
    );
  });

  it("shows no note for a healthy stream or an unknown code", async () => {
    renderApp("viewer", "/live", {
      streams: [{ ...failing("reconnecting", "Connection refused by 10.0.0.9:6379"), camera_id: "c1" }],
    });
    await screen.findByTestId("live-tile");
    await waitFor(() => expect(screen.getByTestId("stream-status").dataset.status).toBe("reconnecting"));
    expect(screen.queryByTestId("stream-error")).toBeNull();
    expect(document.body.textContent).not.toContain("10.0.0.9");
  });

  it("translates a refused start for an operator", async () => {
    renderApp("operator", "/live", {
      start: () => json(422, { error: { code: "address_not_allowed", message: "The camera address is not in a network cameras may use.", details: { camera_id: "c1" } } }),
    });
    await waitFor(() =>
      expect(screen.getByTestId("live-tile").textContent).toContain(
        "O endereço da câmera não está em uma rede permitida para câmeras.",
      ),
    );
  });
});
