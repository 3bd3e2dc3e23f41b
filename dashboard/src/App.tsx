import { Navigate, Route, Routes, useLocation } from "react-router";
import { lazy, Suspense, type ReactNode } from "react";
import { useAuth } from "./auth/AuthContext";
import { useI18n } from "./i18n/i18n";
import { Layout } from "./components/Layout";
import { LoginPage } from "./pages/LoginPage";
import { AcceptInvitationPage } from "./pages/AcceptInvitationPage";
import { AlertsPage } from "./pages/AlertsPage";
import { SearchPage } from "./pages/SearchPage";
import { WatchlistsPage } from "./pages/WatchlistsPage";
import { AccountPage } from "./pages/AccountPage";
import { ConsoleLayout, RequireAction } from "./pages/admin/ConsoleLayout";
import { CamerasAdminPage } from "./pages/admin/CamerasAdminPage";
import { PlacesPage } from "./pages/admin/PlacesPage";
import { UsersPage } from "./pages/admin/UsersPage";
import { AuditPage } from "./pages/admin/AuditPage";
import { TenantsPage } from "./pages/admin/TenantsPage";

// The video pages carry hls.js; load them on demand so the login page stays small.
const LiveWall = lazy(() => import("./pages/LiveWall").then((m) => ({ default: m.LiveWall })));
const RecordingsPage = lazy(() => import("./pages/RecordingsPage").then((m) => ({ default: m.RecordingsPage })));
// The map (Leaflet) and the reports (chart.js, Leaflet) are loaded when opened.
const MapPage = lazy(() => import("./pages/admin/MapPage").then((m) => ({ default: m.MapPage })));
const ReportsPage = lazy(() => import("./pages/reports/ReportsPage").then((m) => ({ default: m.ReportsPage })));
import { AlertToast } from "./components/AlertToast";

function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const { t } = useI18n();
  const location = useLocation();
  if (status === "restoring") return <div className="splash">{t("common.loading")}</div>;
  if (status !== "signed-in") return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

function Lazy({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  return <Suspense fallback={<p className="muted">{t("common.loading")}</p>}>{children}</Suspense>;
}

function NotFound() {
  const { t } = useI18n();
  return <p className="muted">{t("notFound")}</p>;
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/accept-invitation" element={<AcceptInvitationPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
            <AlertToast />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/live" replace />} />
        <Route path="/live" element={<Lazy><LiveWall /></Lazy>} />
        <Route path="/alerts" element={<AlertsPage />} />
        <Route path="/search" element={<SearchPage />} />
        <Route path="/recordings" element={<Lazy><RecordingsPage /></Lazy>} />
        <Route path="/watchlists" element={<WatchlistsPage />} />
        <Route path="/account" element={<AccountPage />} />
        <Route
          path="/reports/*"
          element={
            <RequireAction action="reports.view">
              <Lazy>
                <ReportsPage />
              </Lazy>
            </RequireAction>
          }
        />
        <Route path="/console" element={<ConsoleLayout />}>
          <Route index element={<Navigate to="/console/cameras" replace />} />
          <Route path="cameras" element={<CamerasAdminPage />} />
          <Route path="map" element={<Lazy><MapPage /></Lazy>} />
          <Route path="places" element={<PlacesPage />} />
          <Route path="users" element={<UsersPage />} />
          <Route path="audit" element={<AuditPage />} />
          <Route path="tenants" element={<RequireAction action="tenants.manage"><TenantsPage /></RequireAction>} />
        </Route>
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
