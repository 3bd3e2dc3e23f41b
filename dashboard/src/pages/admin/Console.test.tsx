/**
 * The admin console against a scripted backend: role gating, API field errors shown on
 * the fields, "Testar conexão", users and the audit log's filters and CSV.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { App } from "../../App";
import { AuthProvider } from "../../auth/AuthContext";
import { AlertsProvider } from "../../alerts/AlertsContext";
import { I18nProvider } from "../../i18n/i18n";
import { AuthSession, REFRESH_STORAGE_KEY } from "../../api/session";
import { ManualTimers, MemoryStorage, accessToken, json, listPage, scriptedFetch, sessionDeps, type Call } from "../../test/helpers";

const camera = { id: "c1", tenant: "t1", name: "Praça Central", rtsp_url_masked: "rtsp://***:***@10.0.0.5/s", location: null, zone: null, latitude: null, longitude: null, recording_mode: "continuous", retention_days: 90, lpr_enabled: true, status: "active", metadata: {} };
const user = { id: "u2", username: "joao", email: "j@example.org", first_name: "", last_name: "", tenant: "t1", role: "viewer", is_superadmin: false, is_active: true };
const entry = { id: "e1", occurred_at: "2026-03-01T12:00:00Z", actor: "u1", username: "ana", tenant_id: "t1", action: "update", object_type: "camera", object_id: "c1", before: { name: "Old" }, after: { name: "Praça Central" }, ip: "10.1.1.1", user_agent: "", correlation_id: "corr-1" };

class SilentSocket {
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  close() {}
  send() {}
}

type Handler = (call: Call, url: URL) => Response | undefined;

function renderAt(role: string, path: string, handler: Handler = () => undefined, locale: "pt-BR" | "en" = "en") {
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
        return json(200, listPage([camera]));
      case "/api/cidades/locations/":
      case "/api/cidades/zones/":
      case "/api/streaming/streams/":
        return json(200, listPage([]));
      case "/api/ai/alerts/":
        return json(200, listPage([]));
      case "/api/admin/users/":
        return json(200, listPage([user]));
      case "/api/admin/audit-logs/":
        return json(200, listPage([entry], 1));
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

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("admin console role gating", () => {
  it("shows a viewer no console, no reports and refuses the console's URL", async () => {
    const server = renderAt("viewer", "/console/users");
    expect(await screen.findByTestId("forbidden")).toBeTruthy();
    expect(screen.queryByTestId("nav-admin")).toBeNull();
    expect(screen.queryByTestId("nav-reports")).toBeNull();
    expect(server.calls.some((c) => c.url.includes("/api/admin/users/"))).toBe(false);
  });

  it("gives an operator reports but not the console", async () => {
    renderAt("operator", "/console/cameras");
    expect(await screen.findByTestId("forbidden")).toBeTruthy();
    expect(screen.getByTestId("nav-reports")).toBeTruthy();
    expect(screen.queryByTestId("nav-admin")).toBeNull();
  });

  it("gives a tenant admin the console without the prefeituras", async () => {
    renderAt("tenant_admin", "/console/cameras");
    const nav = await screen.findByTestId("console-nav");
    expect(nav.textContent).toContain("Cameras");
    expect(nav.textContent).not.toContain("Prefeituras");
    expect(await screen.findByTestId("camera-row")).toBeTruthy();
  });
});

describe("cameras", () => {
  it("shows the API's field errors on the fields and probes the typed URL", async () => {
    const server = renderAt("tenant_admin", "/console/cameras", (call, url) => {
      if (url.pathname === "/api/cidades/cameras/" && call.method === "POST") {
        return json(400, {
          error: { code: "address_not_allowed", message: "Invalid input.", details: { rtsp_url: ["This address is not in a camera network."], name: ["This field may not be blank."] } },
        });
      }
      if (url.pathname === "/api/streaming/cameras/probe") {
        return json(200, { ok: false, reason: "auth_failed", video_codec: null, width: null, height: null, fps: null, format_name: null });
      }
      return undefined;
    });
    fireEvent.click(await screen.findByTestId("camera-new"));
    fireEvent.change(screen.getByTestId("camera-url"), { target: { value: "rtsp://u:p@127.0.0.1/x" } });
    fireEvent.click(screen.getByTestId("camera-test"));
    const probe = await screen.findByTestId("probe-result");
    expect(probe.getAttribute("data-reason")).toBe("auth_failed");
    expect(probe.textContent).toContain("refused the configured username or password");
    const probeCall = server.calls.find((c) => c.url === "/api/streaming/cameras/probe");
    expect(probeCall?.body).toEqual({ rtsp_url: "rtsp://u:p@127.0.0.1/x" });

    fireEvent.click(screen.getByTestId("camera-save"));
    expect((await screen.findByTestId("error-rtsp_url")).textContent).toContain("not in a camera network");
    expect(screen.getByTestId("error-name").textContent).toContain("may not be blank");
    const post = server.calls.find((c) => c.method === "POST" && c.url === "/api/cidades/cameras/");
    expect(post?.body).toMatchObject({ rtsp_url: "rtsp://u:p@127.0.0.1/x", recording_mode: "off", retention_days: 90 });
  });

  it("shows a working probe's codec, size and frame rate", async () => {
    renderAt("tenant_admin", "/console/cameras", (_call, url) =>
      url.pathname === "/api/streaming/cameras/probe"
        ? json(200, { ok: true, reason: null, video_codec: "h264", width: 1280, height: 720, fps: 25, format_name: "rtsp" })
        : undefined,
    );
    fireEvent.click(await screen.findByTestId("camera-new"));
    fireEvent.change(screen.getByTestId("camera-url"), { target: { value: "rtsp://10.0.0.5/s" } });
    fireEvent.click(screen.getByTestId("camera-test"));
    expect((await screen.findByTestId("probe-result")).textContent).toBe("Connection OK: h264 1280×720 at 25 fps");
  });

  it("edits without resending the URL unless one is typed", async () => {
    const server = renderAt("tenant_admin", "/console/cameras", (call, url) =>
      url.pathname === "/api/cidades/cameras/c1/" && call.method === "PATCH" ? json(200, { ...camera, retention_days: 30 }) : undefined,
    );
    fireEvent.click(await screen.findByTestId("camera-edit"));
    fireEvent.change(screen.getByTestId("camera-retention"), { target: { value: "30" } });
    fireEvent.click(screen.getByTestId("camera-save"));
    await waitFor(() => expect(server.calls.some((c) => c.method === "PATCH")).toBe(true));
    const patch = server.calls.find((c) => c.method === "PATCH");
    expect(patch?.body).toMatchObject({ retention_days: 30, name: "Praça Central" });
    expect(patch?.body).not.toHaveProperty("rtsp_url");
  });
});

describe("users", () => {
  it("creates, changes a role and deactivates", async () => {
    vi.stubGlobal("confirm", () => true);
    const server = renderAt("tenant_admin", "/console/users", (call, url) => {
      if (url.pathname === "/api/admin/users/" && call.method === "POST") return json(201, { ...user, id: "u3", username: "maria" });
      if (url.pathname === "/api/admin/users/u2/" && call.method === "PATCH") return json(200, { ...user, role: "operator" });
      if (url.pathname === "/api/admin/users/u2/" && call.method === "DELETE") return new Response(null, { status: 204 });
      return undefined;
    });
    // The confirm stub must survive renderAt's own stubs.
    vi.stubGlobal("confirm", () => true);
    fireEvent.click(await screen.findByTestId("user-new"));
    fireEvent.change(screen.getByTestId("user-username"), { target: { value: "maria" } });
    fireEvent.change(screen.getByTestId("user-password"), { target: { value: "Very-Strong-pass-9" } });
    fireEvent.change(screen.getByTestId("user-new-role"), { target: { value: "operator" } });
    fireEvent.click(screen.getByTestId("user-save"));
    await waitFor(() => expect(server.calls.some((c) => c.method === "POST" && c.url === "/api/admin/users/")).toBe(true));
    expect(server.calls.find((c) => c.method === "POST" && c.url === "/api/admin/users/")?.body).toMatchObject({ username: "maria", password: "Very-Strong-pass-9", role: "operator" });

    const row = await screen.findByTestId("user-row");
    fireEvent.change(within(row).getByTestId("user-role-select"), { target: { value: "operator" } });
    await waitFor(() => expect(server.calls.some((c) => c.method === "PATCH")).toBe(true));
    expect(server.calls.find((c) => c.method === "PATCH")?.body).toEqual({ role: "operator" });

    fireEvent.click(within(screen.getByTestId("user-row")).getByTestId("user-deactivate"));
    await waitFor(() => expect(server.calls.some((c) => c.method === "DELETE" && c.url === "/api/admin/users/u2/")).toBe(true));
  });

  it("invites without a password and shows the one-time link", async () => {
    const invited = { ...user, id: "u4", username: "rita", is_active: false };
    const server = renderAt("tenant_admin", "/console/users", (call, url) => {
      if (url.pathname === "/api/admin/users/invite/" && call.method === "POST")
        return json(201, { user: invited, token: "tok-123", accept_path: "/accept-invitation#tok-123", expires_at: "2026-03-04T12:00:00Z" });
      return undefined;
    });
    fireEvent.click(await screen.findByTestId("user-invite"));
    expect(screen.queryByTestId("user-password")).toBeNull();
    fireEvent.change(screen.getByTestId("user-username"), { target: { value: "rita" } });
    fireEvent.change(screen.getByTestId("user-new-role"), { target: { value: "operator" } });
    fireEvent.click(screen.getByTestId("user-save"));
    const link = (await screen.findByTestId("invite-link")) as HTMLInputElement;
    expect(link.value).toBe(`${window.location.origin}/accept-invitation#tok-123`);
    const call = server.calls.find((c) => c.method === "POST" && c.url === "/api/admin/users/invite/");
    expect(call?.body).toMatchObject({ username: "rita", role: "operator" });
    expect(call?.body).not.toHaveProperty("password");
  });
});

describe("passwords", () => {
  it("offers a tenant admin no reset of a peer admin's password (the server refuses it)", async () => {
    const peer = { ...user, id: "u5", username: "carla", role: "tenant_admin" };
    renderAt("tenant_admin", "/console/users", (_call, url) =>
      url.pathname === "/api/admin/users/" ? json(200, listPage([user, peer])) : undefined);
    const rows = await screen.findAllByTestId("user-row");
    const byName = new Map(rows.map((r) => [r.getAttribute("data-username"), r]));
    expect(within(byName.get("joao")!).queryByTestId("user-reset")).not.toBeNull();
    expect(within(byName.get("carla")!).queryByTestId("user-reset")).toBeNull();
    expect(within(byName.get("carla")!).queryByTestId("user-deactivate")).not.toBeNull();
  });

  it("changes one's own password from the header, showing the server's field errors", async () => {
    const server = renderAt("viewer", "/live", (call, url) => {
      if (url.pathname !== "/api/admin/me/password") return undefined;
      const body = call.body as { current_password: string };
      if (body.current_password !== "Old-Horse-41")
        return json(400, { error: { code: "validation_error", message: "Invalid input.", details: { current_password: ["The current password is wrong."] } } });
      return json(200, { access: accessToken(Date.now(), { roles: ["viewer"], n: 7 }), refresh: "r9" });
    });
    fireEvent.click(await screen.findByTestId("user-name"));
    const fill = (current: string) => {
      fireEvent.change(screen.getByTestId("password-current"), { target: { value: current } });
      fireEvent.change(screen.getByTestId("password-new"), { target: { value: "New-Horse-42" } });
      fireEvent.change(screen.getByTestId("password-confirm"), { target: { value: "New-Horse-42" } });
      fireEvent.click(screen.getByTestId("password-submit"));
    };
    fill("Wrong-Horse");
    expect((await screen.findByTestId("password-error")).textContent).toContain("current password is wrong");
    fill("Old-Horse-41");
    expect((await screen.findByTestId("console-notice")).textContent).toContain("Password changed");
    const calls = server.calls.filter((c) => c.url === "/api/admin/me/password");
    expect(calls).toHaveLength(2);
    expect(calls[1]?.method).toBe("POST");
    expect(calls[1]?.headers.Authorization).toMatch(/^Bearer /);
    expect(calls[1]?.body).toEqual({ current_password: "Old-Horse-41", new_password: "New-Horse-42" });
    expect(screen.queryByTestId("password-error")).toBeNull();
  });
});

describe("audit log", () => {
  it("filters, shows before/after and exports the same filters as CSV", async () => {
    const created: string[] = [];
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => { created.push("blob"); return "blob:x"; }, revokeObjectURL: () => undefined }));
    const server = renderAt("tenant_admin", "/console/audit", (_call, url) =>
      url.pathname === "/api/admin/audit-logs/export/" ? new Response("occurred_at,username\r\n", { status: 200, headers: { "Content-Type": "text/csv" } }) : undefined,
    );
    fireEvent.change(await screen.findByTestId("audit-username"), { target: { value: "ana" } });
    fireEvent.change(screen.getByTestId("audit-object-type"), { target: { value: "camera" } });
    fireEvent.click(screen.getByTestId("audit-apply"));
    await waitFor(() => expect(server.calls.some((c) => c.url.includes("username=ana") && c.url.includes("object_type=camera"))).toBe(true));
    fireEvent.click(await screen.findByTestId("audit-row"));
    expect(screen.getByTestId("audit-before").textContent).toContain('"Old"');
    expect(screen.getByTestId("audit-after").textContent).toContain('"Praça Central"');
    fireEvent.click(screen.getByTestId("audit-csv"));
    await waitFor(() => expect(created.length).toBe(1));
    const csvCall = server.calls.find((c) => c.url.startsWith("/api/admin/audit-logs/export/"));
    expect(csvCall?.url).toContain("username=ana");
    expect(csvCall?.url).toContain("object_type=camera");
    expect(csvCall?.url).not.toContain("page=");
  });
});

describe("report PDFs", () => {
  it("downloads the availability report as a PDF made by the server, in the page's language", async () => {
    const created: string[] = [];
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => { created.push("blob"); return "blob:x"; }, revokeObjectURL: () => undefined }));
    const availability = { timezone: "America/Sao_Paulo", start: "2026-03-01T03:00:00Z", end: "2026-03-08T03:00:00Z", storage_bytes_total: 3000, recording_hours_total: 1.5, cameras: [] };
    const server = renderAt(
      "operator",
      "/reports/availability",
      (_call, url) => {
        if (url.pathname !== "/api/streaming/reports/availability") return undefined;
        return url.searchParams.get("format") === "pdf" ? new Response("%PDF-1.4\n", { status: 200, headers: { "Content-Type": "application/pdf" } }) : json(200, availability);
      },
      "pt-BR",
    );
    fireEvent.click(await screen.findByTestId("report-pdf-availability", {}, { timeout: 15000 }));
    await waitFor(() => expect(created.length).toBe(1));
    const pdfCall = server.calls.find((c) => c.url.includes("format=pdf"));
    expect(pdfCall?.url).toContain("/api/streaming/reports/availability?");
    expect(pdfCall?.url).toContain("lang=pt-BR");
    expect(pdfCall?.url).toContain("start=");
  });
});

describe("zones on the map", () => {
  const square = { type: "Polygon", coordinates: [[[-47.06, -22.9], [-47.05, -22.9], [-47.05, -22.91], [-47.06, -22.91], [-47.06, -22.9]]] };
  const zone = { id: "z1", tenant: "t1", name: "Centro", description: "", location: null, geometry: square };

  function zonesServer(call: Call, url: URL): Response | undefined {
    if (url.pathname === "/api/cidades/zones/" && call.method === "GET") return json(200, listPage([zone]));
    if (url.pathname === "/api/cidades/zones/z1/" && call.method === "PATCH") return json(200, { ...zone, ...(call.body as object) });
    return undefined;
  }

  it("edits an existing zone from its own corners", async () => {
    const server = renderAt("tenant_admin", "/console/map?zone=z1", zonesServer);
    await waitFor(() => expect(document.querySelectorAll(".zone-handle").length).toBe(4), { timeout: 15000 });
    fireEvent.click(screen.getByTestId("map-save-zone"));
    await waitFor(() => expect(server.calls.some((c) => c.method === "PATCH")).toBe(true));
    expect(server.calls.find((c) => c.method === "PATCH")?.body).toEqual({ geometry: square });
  });

  it("removes a zone's polygon", async () => {
    const server = renderAt("tenant_admin", "/console/map?zone=z1", zonesServer);
    vi.stubGlobal("confirm", () => true);
    fireEvent.click(await screen.findByTestId("map-remove-zone-shape", {}, { timeout: 15000 }));
    await waitFor(() => expect(server.calls.some((c) => c.method === "PATCH")).toBe(true));
    expect(server.calls.find((c) => c.method === "PATCH")?.body).toEqual({ geometry: null });
  });
});
