"""Render a kustomization of ``deploy/k8s`` without kubectl: ``python -m tools.kustomize DIR``.

A small subset of kustomize, enough for our base and overlays, and strict about it: a
field it does not implement is an error, never silently ignored. Supported:
``resources`` (files and directories), ``namespace``, ``labels`` (pairs added to
``metadata.labels``), ``images`` (``newName``/``newTag``), ``replicas`` and ``patches``
with a ``path`` to a strategic-merge patch (lists of objects with a ``name`` merge by
name, other lists are replaced). ``kubectl kustomize`` renders the same files the same
way; the tests (tests/integration/deploy/test_kubernetes.py) validate what this renders
against the Kubernetes schema.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas",
             "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition"}

Obj = dict[str, Any]


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not implement, or is wrong."""


def _load_documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _key(obj: Obj) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def strategic_merge(target: Any, patch: Any) -> Any:
    """Merge ``patch`` into ``target`` the way kustomize merges a strategic-merge patch
    for the fields we use: maps recursively, lists of named objects by name."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            merged[key] = strategic_merge(target[key], value) if key in target else value
        return merged
    if (isinstance(target, list) and isinstance(patch, list) and patch
            and all(isinstance(item, dict) and "name" in item for item in target + patch)):
        patches = {item["name"]: item for item in patch}
        names = {item["name"] for item in target}
        merged_list = [strategic_merge(item, patches[item["name"]]) if item["name"] in patches
                       else item for item in target]
        return merged_list + [item for item in patch if item["name"] not in names]
    return copy.deepcopy(patch)


def _split_image(image: str) -> tuple[str, str | None]:
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, None
    return name, tag


def _containers(obj: Obj) -> list[Obj]:
    spec = obj.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return [*pod.get("containers", []), *pod.get("initContainers", [])]


def render(directory: Path) -> list[Obj]:
    """The objects the kustomization in ``directory`` produces, in resource order."""
    directory = Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    objects: list[Obj] = []
    for resource in kustomization.get("resources", []):
        path = (directory / resource).resolve()
        objects += render(path) if path.is_dir() else _load_documents(path)
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        if _key(obj) in seen:
            raise KustomizeError(f"{directory}: {_key(obj)} defined twice")
        seen.add(_key(obj))
    for patch_ref in kustomization.get("patches", []):
        if set(patch_ref) != {"path"}:
            raise KustomizeError(f"{directory}: only `patches: - path:` is supported")
        for patch in _load_documents(directory / patch_ref["path"]):
            index = next((i for i, obj in enumerate(objects) if _key(obj) == _key(patch)), None)
            if index is None:
                raise KustomizeError(f"{directory}: patch target {_key(patch)} not found")
            objects[index] = strategic_merge(objects[index], patch)
    for entry in kustomization.get("replicas", []):
        matches = [o for o in objects if o["metadata"]["name"] == entry["name"]
                   and "replicas" in o.get("spec", {})]
        if not matches:
            raise KustomizeError(f"{directory}: replicas target {entry['name']} not found")
        for obj in matches:
            obj["spec"]["replicas"] = entry["count"]
    for entry in kustomization.get("images", []):
        used = False
        for obj in objects:
            for container in _containers(obj):
                name, tag = _split_image(container["image"])
                if name == entry["name"]:
                    used = True
                    container["image"] = (f"{entry.get('newName', name)}:"
                                          f"{entry.get('newTag', tag or 'latest')}")
        if not used:
            raise KustomizeError(f"{directory}: image {entry['name']} is used nowhere")
    for label_set in kustomization.get("labels", []):
        if set(label_set) - {"pairs"}:
            raise KustomizeError(f"{directory}: labels support `pairs` only")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label_set["pairs"])
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    return objects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    sys.stdout.write(yaml.safe_dump_all(render(args.directory), sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
