/** The invitation page: the token comes from the link's fragment, the server's password
 * rules are shown, a used or expired link says so. */
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { I18nProvider } from "../i18n/i18n";
import { AcceptInvitationPage } from "./AcceptInvitationPage";
import { json, scriptedFetch } from "../test/helpers";

afterEach(cleanup);

function renderWith(answer: Response) {
  const server = scriptedFetch(() => answer);
  render(
    <I18nProvider locale="en">
      <MemoryRouter initialEntries={["/accept-invitation#tok-123"]}>
        <AcceptInvitationPage fetchImpl={server.fetch} />
      </MemoryRouter>
    </I18nProvider>,
  );
  return server;
}

function typeAndSubmit(password: string, confirm = password) {
  fireEvent.change(screen.getByTestId("invite-password"), { target: { value: password } });
  fireEvent.change(screen.getByTestId("invite-confirm"), { target: { value: confirm } });
  fireEvent.click(screen.getByTestId("invite-submit"));
}

describe("accept invitation", () => {
  it("sends the fragment's token with the password and confirms", async () => {
    const server = renderWith(json(200, { username: "rita" }));
    typeAndSubmit("Another-Horse-77");
    expect((await screen.findByTestId("invite-accepted")).textContent).toContain("rita");
    expect(server.calls[0]?.url).toBe("/api/admin/auth/invitations/accept");
    expect(server.calls[0]?.body).toEqual({ token: "tok-123", password: "Another-Horse-77" });
  });

  it("shows the password rules the server applies", async () => {
    renderWith(json(400, { error: { code: "validation_error", message: "Invalid input.", details: { password: ["This password is too short."] } } }));
    typeAndSubmit("123");
    expect((await screen.findByTestId("invite-error")).textContent).toContain("too short");
  });

  it("says when the link is used or expired", async () => {
    renderWith(json(400, { error: { code: "invalid_invitation", message: "x", details: {} } }));
    typeAndSubmit("Another-Horse-77");
    expect((await screen.findByTestId("invite-error")).textContent).toContain("invalid, expired or already used");
  });

  it("checks the two passwords match before asking the server", async () => {
    const server = renderWith(json(200, { username: "rita" }));
    typeAndSubmit("Another-Horse-77", "Another-Horse-78");
    await waitFor(() => expect(screen.getByTestId("invite-error").textContent).toContain("do not match"));
    expect(server.calls).toHaveLength(0);
  });
});
