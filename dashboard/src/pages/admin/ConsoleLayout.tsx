import { NavLink, Outlet } from "react-router";
import type { ReactNode } from "react";
import { useAuth } from "../../auth/AuthContext";
import { useI18n } from "../../i18n/i18n";
import type { Action } from "../../lib/roles";

/** A page only a role may open: anyone else is told so (the APIs refuse them anyway). */
export function RequireAction({ action, children }: { action: Action; children: ReactNode }) {
  const { can } = useAuth();
  const { t } = useI18n();
  if (!can(action)) {
    return (
      <p className="muted" data-testid="forbidden">
        {t("console.forbidden")}
      </p>
    );
  }
  return <>{children}</>;
}

/** The city's admin console (tenant admin; a superadmin also manages prefeituras). */
export function ConsoleLayout() {
  const { can } = useAuth();
  const { t } = useI18n();
  return (
    <RequireAction action="admin.open">
      <nav className="console-nav" data-testid="console-nav">
        <NavLink to="/console/cameras">{t("nav.cameras")}</NavLink>
        <NavLink to="/console/map">{t("nav.map")}</NavLink>
        <NavLink to="/console/places">{t("nav.places")}</NavLink>
        <NavLink to="/console/users">{t("nav.users")}</NavLink>
        <NavLink to="/console/audit">{t("nav.audit")}</NavLink>
        {can("tenants.manage") && <NavLink to="/console/tenants">{t("nav.tenants")}</NavLink>}
      </nav>
      <Outlet />
    </RequireAction>
  );
}
