import { Navigate, Route, Routes, useLocation } from "react-router";
import { lazy, Suspense, type ReactNode } from "react";
import { useAuth } from "./auth/AuthContext";
import { useI18n } from "./i18n/i18n";
import { Layout } from "./components/Layout";
import { LoginPage } from "./pages/LoginPage";
import { AlertsPage } from "./pages/AlertsPage";
import { SearchPage } from "./pages/SearchPage";
import { WatchlistsPage } from "./pages/WatchlistsPage";

// The video pages carry hls.js; load them on demand so the login page stays small.
const LiveWall = lazy(() => import("./pages/LiveWall").then((m) => ({ default: m.LiveWall })));
const RecordingsPage = lazy(() => import("./pages/RecordingsPage").then((m) => ({ default: m.RecordingsPage })));
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
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
