import { useEffect, useState } from "react";
import { useAuth } from "../auth/AuthContext";

/**
 * An image behind the API's bearer authentication (plate crops): fetched with the access
 * token and shown from a blob URL. Absolute/signed URLs are used directly.
 */
export function AuthImage({ src, alt, className }: { src: string | null | undefined; alt: string; className?: string }) {
  const { client } = useAuth();
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    setFailed(false);
    setUrl(null);
    if (!src) return;
    if (!src.startsWith("/api/")) {
      setUrl(src);
      return;
    }
    const controller = new AbortController();
    let objectUrl: string | null = null;
    client
      .blob(src, controller.signal)
      .then((blob) => {
        objectUrl = URL.createObjectURL(blob);
        setUrl(objectUrl);
      })
      .catch(() => {
        if (!controller.signal.aborted) setFailed(true);
      });
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [src, client]);

  if (!src || failed) return <div className={`crop crop-missing ${className ?? ""}`} aria-label={alt} />;
  if (!url) return <div className={`crop crop-loading ${className ?? ""}`} aria-label={alt} />;
  return <img className={`crop ${className ?? ""}`} src={url} alt={alt} loading="lazy" />;
}
