import { NavLink, Outlet, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { useAlerts } from "../alerts/AlertsContext";
import { useI18n, LOCALES, type Locale } from "../i18n/i18n";
import { primeAudio } from "../alerts/beep";

export function Layout() {
  const { me, claims, role, can, logout } = useAuth();
  const { unacked, liveStatus } = useAlerts();
  const { t, locale, setLocale } = useI18n();
  const navigate = useNavigate();

  const liveLabel =
    liveStatus === "open" ? t("header.live.open") : liveStatus === "closed" ? t("header.live.closed") : t("header.live.reconnecting");

  return (
    <div className="app" onClick={primeAudio}>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden>
            ◉
          </span>
          <strong>{t("app.name")}</strong>
          {me?.tenant_name && <span className="tenant" data-testid="tenant-name">{me.tenant_name}</span>}
        </div>
        <nav className="nav">
          <NavLink to="/live">{t("nav.live")}</NavLink>
          <NavLink to="/alerts" data-testid="nav-alerts">
            {t("nav.alerts")}
            {unacked > 0 && (
              <span className="count" data-testid="unacked-count" title={t("header.unacked", { count: unacked })}>
                {unacked > 99 ? "99+" : unacked}
              </span>
            )}
          </NavLink>
          <NavLink to="/search">{t("nav.search")}</NavLink>
          <NavLink to="/recordings">{t("nav.recordings")}</NavLink>
          <NavLink to="/watchlists">{t("nav.watchlists")}</NavLink>
          {can("reports.view") && (
            <NavLink to="/reports" data-testid="nav-reports">
              {t("nav.reports")}
            </NavLink>
          )}
          {can("admin.open") && (
            <NavLink to="/console" data-testid="nav-admin">
              {t("nav.admin")}
            </NavLink>
          )}
          {can("tenants.manage") && (
            <a href="/admin/" data-testid="nav-django-admin" target="_blank" rel="noreferrer">
              {t("nav.djangoAdmin")}
            </a>
          )}
        </nav>
        <div className="user">
          <span className={`live-dot live-${liveStatus}`} title={liveLabel} aria-label={liveLabel} data-testid="live-status" />
          <label className="sr-only" htmlFor="locale">
            {t("header.language")}
          </label>
          <select id="locale" value={locale} onChange={(e) => setLocale(e.target.value as Locale)}>
            {LOCALES.map((l) => (
              <option key={l} value={l}>
                {l === "pt-BR" ? "PT" : "EN"}
              </option>
            ))}
          </select>
          <NavLink to="/account" className="who" title={t("account.title")} data-testid="user-name">
            {me?.username ?? claims?.username}
            {role && <small data-testid="user-role">{t(`role.${role}`)}</small>}
          </NavLink>
          <button
            type="button"
            className="secondary"
            data-testid="logout"
            onClick={() => {
              void logout().then(() => navigate("/login"));
            }}
          >
            {t("header.logout")}
          </button>
        </div>
      </header>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
