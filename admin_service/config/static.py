"""Static files storage: WhiteNoise's hashed, compressed files, forgiving before collectstatic.

``collectstatic`` writes hashed copies (``base.4f3c….css``, cached for a year by browsers)
and a manifest to ``STATIC_ROOT``; gunicorn's workers serve them through WhiteNoise.
Stock manifest storage makes *every* page that names a static file fail with a 500 when
the manifest is missing (a fresh checkout, a test run); here pages still render, with
plain ``/static/…`` URLs, until ``collectstatic`` has run.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name: str) -> str:
        if not self.hashed_files:  # no manifest: collectstatic has not run here
            return name
        return str(super().stored_name(name))
