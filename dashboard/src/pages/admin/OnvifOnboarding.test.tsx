/**
 * ONVIF onboarding in the console against a scripted backend: discovery results, choosing
 * one, the device's refusals on their fields, a typed device address when discovery is
 * unavailable, and the cameras' ONVIF health in the list.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, configure, fireEvent, render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { App } from "../../App";
import { AuthProvider } from "../../auth/AuthContext";
import { AlertsProvider } from "../../alerts/AlertsContext";
import { I18nProvider } from "../../i18n/i18n";
import { AuthSession, REFRESH_STORAGE_KEY } from "../../api/session";
import { ApiError } from "../../api/errors";
import { localiseOnvifError, onboardInput } from "./OnvifOnboarding";
import { ManualTimers, MemoryStorage, accessToken, json, listPage, scriptedFetch, sessionDeps, type Call } from "../../test/helpers";

const base = { tenant: "t1", rtsp_url_masked: "rtsp://***:***@10.0.0.5/s", location: null, zone: null, latitude: null, longitude: null, recording_mode: "off", retention_days: 90, lpr_enabled: false, status: "active", metadata: {} };
const plain = { ...base, id: "c1", name: "Praça Central" };
const dome = {
  ...base,
  id: "c2",
  name: "Dome Rodoviária",
  ptz: true,
  onvif_device: { manufacturer: "GT-Vision", model: "SimDome", firmware: "1.0", serial: "S1", profile: "main" },
  onvif_health: { reachable: true, authorized: true, clock_drift_seconds: 2.5, checked_at: "2026-03-01T12:00:00Z" },
};
const found = [
  { endpoint: "urn:uuid:1", device_url: "http://10.0.0.7/onvif/device_service", xaddrs: ["http://10.0.0.7/onvif/device_service"], name: "dome", hardware: "SimDome", scopes: [], types: ["dn:NetworkVideoTransmitter"], already_registered_camera_id: null },
  { endpoint: "urn:uuid:2", device_url: "http://10.0.0.8/onvif/device_service", xaddrs: [], name: "old", hardware: null, scopes: [], types: [], already_registered_camera_id: "c2" },
];

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

function renderConsole(handler: Handler, locale: "pt-BR" | "en" = "en") {
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
        return json(200, { access: accessToken(timers.now, { roles: ["tenant_admin"] }), refresh: "r1" });
      case "/api/admin/me":
        return json(200, { id: "u1", username: "ana", tenant: "t1", tenant_name: "Campinas", role: "tenant_admin", roles: ["tenant_admin"], is_superadmin: false });
      case "/api/cidades/cameras/":
        return json(200, listPage([plain, dome]));
      case "/api/cidades/locations/":
        return json(200, listPage([{ id: "l1", tenant: "t1", name: "Centro", address: "", latitude: null, longitude: null }]));
      case "/api/cidades/zones/":
      case "/api/streaming/streams/":
      case "/api/ai/alerts/":
        return json(200, listPage([]));
      default:
        return json(404, { error: { code: "not_found", message: "not found", details: {} } });
    }
  });
  vi.stubGlobal("fetch", server.fetch);
  vi.stubGlobal("WebSocket", SilentSocket);
  const session = new AuthSession(sessionDeps(server.fetch, timers, storage));
  render(
    <I18nProvider locale={locale}>
      <MemoryRouter initialEntries={["/console/cameras"]}>
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

const onboardCalls = (calls: Call[]) => calls.filter((c) => c.url.startsWith("/api/cidades/cameras/onboard/") && c.method === "POST");

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("ONVIF onboarding", () => {
  it("discovers devices, onboards the chosen one and shows a refused password on its field", async () => {
    let attempts = 0;
    const server = renderConsole((call, url) => {
      if (url.pathname === "/api/cidades/cameras/discover/" && call.method === "POST") {
        return json(200, { count: 2, page: 1, page_size: 200, next: null, previous: null, results: found });
      }
      if (url.pathname === "/api/cidades/cameras/onboard/") {
        attempts += 1;
        if (attempts === 1) {
          return json(400, { error: { code: "onvif_not_authorized", message: "Invalid input.", details: { password: ["The device refused these credentials."] } } });
        }
        return json(201, { ...base, id: "c3", name: "dome", ptz: true });
      }
      return undefined;
    });
    fireEvent.click(await screen.findByTestId("camera-onvif"));
    fireEvent.click(screen.getByTestId("onvif-discover"));
    const rows = await screen.findAllByTestId("onvif-result");
    expect(rows).toHaveLength(2);
    expect(within(rows[1]!).getByTestId("onvif-already")).toBeTruthy();
    expect(within(rows[1]!).queryByTestId("onvif-choose")).toBeNull();
    fireEvent.click(within(rows[0]!).getByTestId("onvif-choose"));
    expect((screen.getByTestId("onvif-device-url") as HTMLInputElement).value).toBe("http://10.0.0.7/onvif/device_service");
    expect((screen.getByTestId("onvif-name") as HTMLInputElement).value).toBe("dome");
    fireEvent.change(screen.getByTestId("onvif-username"), { target: { value: "installer" } });
    fireEvent.change(screen.getByTestId("onvif-password"), { target: { value: "wrong" } });
    fireEvent.change(screen.getByTestId("onvif-location"), { target: { value: "l1" } });
    fireEvent.click(screen.getByTestId("onvif-save"));
    const refusal = await screen.findAllByTestId("error-password");
    expect(refusal[0]!.textContent).toBe("The camera refused this username and password.");
    expect(refusal).toHaveLength(1);
    expect(onboardCalls(server.calls)[0]!.body).toEqual({
      name: "dome",
      device_url: "http://10.0.0.7/onvif/device_service",
      username: "installer",
      password: "wrong",
      recording_mode: "off",
      location: "l1",
    });
    expect(JSON.stringify(onboardCalls(server.calls)[0]!.body)).not.toContain("rtsp");
    fireEvent.change(screen.getByTestId("onvif-password"), { target: { value: "right" } });
    fireEvent.click(screen.getByTestId("onvif-save"));
    expect((await screen.findByTestId("console-notice")).textContent).toContain("dome: registered by ONVIF");
    expect(screen.queryByTestId("onvif-onboarding")).toBeNull();
  });

  it("takes a typed device address when discovery is unavailable and shows an unreachable device on it", async () => {
    const server = renderConsole((_call, url) => {
      if (url.pathname === "/api/cidades/cameras/onboard/") {
        return json(400, { error: { code: "onvif_unreachable", message: "Invalid input.", details: { device_url: ["The device did not answer."] } } });
      }
      return undefined;
    }, "pt-BR");
    fireEvent.click(await screen.findByTestId("camera-onvif"));
    fireEvent.click(screen.getByTestId("onvif-discover"));
    expect((await screen.findByTestId("onvif-discovery-unavailable")).textContent).toContain("digite o endereço do dispositivo");
    fireEvent.change(screen.getByTestId("onvif-device-url"), { target: { value: " http://10.0.0.9/onvif/device_service " } });
    fireEvent.change(screen.getByTestId("onvif-name"), { target: { value: "Dome Praça" } });
    fireEvent.change(screen.getByTestId("onvif-username"), { target: { value: "admin" } });
    fireEvent.change(screen.getByTestId("onvif-password"), { target: { value: "x" } });
    fireEvent.change(screen.getByTestId("onvif-profile"), { target: { value: "sub" } });
    fireEvent.click(screen.getByTestId("onvif-save"));
    expect((await screen.findAllByTestId("error-device_url"))[0]!.textContent).toBe("A câmera não respondeu neste endereço.");
    expect(onboardCalls(server.calls)[0]!.body).toMatchObject({ device_url: "http://10.0.0.9/onvif/device_service", profile: "sub" });
  });

  it("shows PTZ and the device's health in the camera list", async () => {
    renderConsole(() => undefined);
    const rows = await screen.findAllByTestId("camera-row");
    const domeRow = rows.find((r) => r.getAttribute("data-camera-id") === "c2")!;
    const plainRow = rows.find((r) => r.getAttribute("data-camera-id") === "c1")!;
    expect(within(domeRow).getByTestId("ptz-badge")).toBeTruthy();
    const health = within(domeRow).getByTestId("onvif-health");
    expect(health.textContent).toBe("Online · clock +2.5 s");
    expect(within(domeRow).getByTestId("onvif-cell").textContent).toContain("GT-Vision SimDome");
    expect(within(plainRow).queryByTestId("onvif-health")).toBeNull();
    expect(within(plainRow).queryByTestId("ptz-badge")).toBeNull();
  });
});

describe("ONVIF onboarding helpers", () => {
  it("sends only what was given", () => {
    const body = onboardInput({ name: " Dome ", device_url: " http://a/ ", username: "u", password: " p ", profile: " ", location: "", recording_mode: "events", tenant: "t9" }, false);
    expect(body).toEqual({ name: "Dome", device_url: "http://a/", username: "u", password: " p ", recording_mode: "events", location: null });
  });

  it("puts the device's reason on the field it concerns", () => {
    const t = (key: string) => `<${key}>`;
    const error = localiseOnvifError(new ApiError(400, "onvif_not_authorized", "Invalid input.", { password: ["refused"] }), t) as ApiError;
    expect(error.details.password).toEqual(["<onvif.error.notAuthorized>"]);
    const fault = localiseOnvifError(new ApiError(400, "onvif_error", "Invalid input.", { device_url: ["The device refused a request (ONVIF fault ter:ActionNotSupported)."] }), t) as ApiError;
    expect(fault.details.device_url).toEqual(["<onvif.error.device>", "The device refused a request (ONVIF fault ter:ActionNotSupported)."]);
    const other = new ApiError(400, "validation_error", "Invalid input.", { name: ["blank"] });
    expect(localiseOnvifError(other, t)).toBe(other);
  });
});
