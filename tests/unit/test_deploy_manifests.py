"""The container images and Kubernetes description (deploy/) agree with the code they deploy: every setting they
set exists, every secret they read is in the example secrets file, the gateway lists exactly the Rasa replicas the
StatefulSet runs, Rasa gets every variable endpoints.redis.yml expands, and the Rasa image holds every module its
config names. Nothing here needs a cluster; `kubectl apply -k deploy/k8s` is what a user runs."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from configuration.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def _documents() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def _containers() -> dict[str, dict]:
    return {f"{doc['metadata']['name']}/{container['name']}": container
            for doc in _documents() if doc["kind"] in ("Deployment", "StatefulSet", "Job")
            for container in doc["spec"]["template"]["spec"]["containers"]}


def _env(container: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def test_every_collections_variable_names_a_real_setting():
    sections = Settings.model_fields
    unknown = []
    for where, container in _containers().items():
        for name in _env(container):
            if not name.startswith("COLLECTIONS_"):
                continue
            section, _, field = name.removeprefix("COLLECTIONS_").lower().partition("_")
            model = sections.get(section)
            if model is None or field not in model.annotation.model_fields:
                unknown.append(f"{where}: {name}")
    assert not unknown, unknown


def test_every_secret_read_is_in_the_example_secrets_file_and_no_value_is_committed():
    example = dict(line.split("=", 1) for line in (K8S / "secrets.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert all(value == "" for value in example.values())
    read = {entry["valueFrom"]["secretKeyRef"]["key"] for container in _containers().values()
            for entry in _env(container).values() if "valueFrom" in entry}
    assert read <= set(example), read - set(example)
    assert not (K8S / "secrets.env").exists() or "secrets.env" in (ROOT / ".gitignore").read_text()


def test_the_gateway_lists_exactly_the_rasa_replicas():
    rasa = next(doc for doc in _documents() if doc["kind"] == "StatefulSet" and doc["metadata"]["name"] == "rasa")
    service = rasa["spec"]["serviceName"]
    port = rasa["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    listed = _env(_containers()["gateway/gateway"])["COLLECTIONS_RASA_URL"]["value"]
    expected = [f"http://rasa-{n}.{service}:{port}" for n in range(rasa["spec"]["replicas"])]
    assert Settings(_env_file=None, rasa={"url": listed}).rasa.urls == expected


def test_rasa_gets_every_variable_its_endpoints_expand_and_the_action_server_it_names_exists():
    wanted = set(re.findall(r"\$\{(\w+)\}", (ROOT / "endpoints.redis.yml").read_text()))
    env = _env(_containers()["rasa/rasa"])
    assert wanted <= set(env), wanted - set(env)
    services = {doc["metadata"]["name"]: doc for doc in _documents() if doc["kind"] == "Service"}
    host, port = re.match(r"http://([\w-]+):(\d+)/webhook$", env["ACTION_ENDPOINT_URL"]["value"]).groups()
    assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]]
    assert env["REDIS_HOST"]["value"] in services


def test_the_rasa_image_holds_every_module_its_config_names():
    dockerfile = (ROOT / "deploy" / "docker" / "rasa.Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) \1$", dockerfile, re.M))
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    packages = {item["name"].split(".")[0] for item in config["pipeline"] + config["policies"] if "." in item["name"]}
    packages |= {"rasa_channels", "rasa_runtime"}  # credentials.yml's channel, run_rasa.py's validator
    endpoints = yaml.safe_load((ROOT / "endpoints.redis.yml").read_text())
    packages |= {store["type"].split(".")[0] for store in (endpoints["tracker_store"], endpoints["lock_store"])
                 if "." in store["type"]}
    assert packages <= copied, packages - copied
    for line in (ROOT / "credentials.yml").read_text().splitlines():
        if re.match(r"^\w+\.", line):
            assert line.split(".")[0] in copied


def test_rasa_thread_pools_match_its_cpu_request_as_the_launcher_sizes_them():
    from bot.launcher import rasa_process_env

    rasa = _containers()["rasa/rasa"]
    cpus = int(float(rasa["resources"]["requests"]["cpu"]))
    env = {name: entry["value"] for name, entry in _env(rasa).items() if "value" in entry}
    assert rasa_process_env(1, cores=cpus, environ={}).items() <= env.items()
