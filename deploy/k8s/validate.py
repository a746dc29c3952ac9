"""Offline checks of one rendered overlay that the schema tools cannot make.

Usage: validate.py RENDERED.yaml BUILTINS_OUT.yaml

1. Splits the rendered stream: custom resources of the operators
   (rabbitmq.com, mongodbcommunity.mongodb.com, cert-manager.io) are checked
   here; every other document is written to BUILTINS_OUT.yaml for
   kubernetes-validate, which has schemas for built-in kinds only.
2. Validates the custom resources against partial JSON schemas written from
   the operators' CRDs (apiVersion, kind, required fields, types, and no
   unknown keys at the levels spelled out below). A custom kind with no
   schema here fails: nothing is skipped silently.
3. Checks the runtime contract of the platform (probes, security context,
   grace period, secrets, topology initContainer, cross references between
   the workloads and the operators' resources).
4. Checks each external consumer (label wushe.io/consumer, docs/consumers.md):
   a complete set of User, Permission, TopicPermission, Queue and Bindings
   that lets it read its own queue `ext.NAME` and nothing else.

Exits 1 if anything fails. Runs with the check venv's Python (PyYAML and
jsonschema come with the validation tools).
"""

import ast
import os
import re
import sys

import jsonschema
import yaml

CR_GROUPS = ("rabbitmq.com", "mongodbcommunity.mongodb.com", "cert-manager.io")

# Secrets the ops team creates by hand (deploy/k8s/README.md "Secrets"):
# name -> keys the manifests read. Everything else a pod reads must be made
# by an operator from a resource in the same build.
EXTERNAL_SECRETS = {
    "wushe-gateway-token": {"TOKEN_SECRET", "TOKEN_SECRET_PREVIOUS"},
    # The key of the volunteer service's keyed hash of ID numbers: without it
    # production would hash with the development key.
    "wushe-volunteer-pii": {"PII_HASH_KEY"},
    # The webhooks service's key (base/services/webhooks/deployment.yaml).
    "wushe-webhooks-key": {"WEBHOOKS_SECRET_KEY"},
}

DNS1123 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# --- partial schemas of the operators' custom resources ----------------------

_str = {"type": "string"}
_obj = {"type": "object"}
_int = {"type": "integer"}
_bool = {"type": "boolean"}
_quantity = {"type": ["string", "integer"]}
_resources = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"limits": _obj, "requests": _obj, "claims": {"type": "array"}},
}
_cluster_ref = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"name": _str, "namespace": _str, "connectionSecret": _obj},
    "anyOf": [{"required": ["name"]}, {"required": ["connectionSecret"]}],
}
_local_ref = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": _str, "namespace": _str},
}


def _cr(spec_schema):
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "pattern": DNS1123}},
            },
            "spec": spec_schema,
        },
    }


CR_SCHEMAS = {
    # RabbitMQ Cluster Operator
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): _cr({
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "replicas": {"type": "integer", "minimum": 0},
            "image": _str,
            "imagePullSecrets": {"type": "array"},
            "service": _obj,
            "persistence": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"storageClassName": _str, "storage": _quantity},
            },
            "resources": _resources,
            "affinity": _obj,
            "tolerations": {"type": "array"},
            "rabbitmq": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "additionalPlugins": {"type": "array", "items": _str},
                    "additionalConfig": _str,
                    "advancedConfig": _str,
                    "envConfig": _str,
                    "erlangInetConfig": _str,
                },
            },
            "tls": _obj,
            "override": _obj,
            "skipPostDeployCommands": _bool,
            "delayStartSeconds": _int,
            "terminationGracePeriodSeconds": _int,
            "secretBackend": _obj,
            "autoEnableAllFeatureFlags": _bool,
        },
    }),
    # Messaging Topology Operator
    ("rabbitmq.com/v1beta1", "Vhost"): _cr({
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "rabbitmqClusterReference"],
        "properties": {
            "name": _str,
            "tags": {"type": "array", "items": _str},
            "defaultQueueType": {"enum": ["quorum", "classic", "stream"]},
            "tracing": _bool,
            "rabbitmqClusterReference": _cluster_ref,
        },
    }),
    ("rabbitmq.com/v1beta1", "User"): _cr({
        "type": "object",
        "additionalProperties": False,
        "required": ["rabbitmqClusterReference"],
        "properties": {
            "tags": {
                "type": "array",
                "items": {"enum": ["management", "policymaker", "monitoring", "administrator"]},
            },
            "rabbitmqClusterReference": _cluster_ref,
            "importCredentialsSecret": _local_ref,
        },
    }),
    ("rabbitmq.com/v1beta1", "Permission"): _cr({
        "type": "object",
        "additionalProperties": False,
        "required": ["vhost", "permissions", "rabbitmqClusterReference"],
        "oneOf": [{"required": ["user"]}, {"required": ["userReference"]}],
        "properties": {
            "vhost": _str,
            "user": _str,
            "userReference": _local_ref,
            "permissions": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"configure": _str, "write": _str, "read": _str},
            },
            "rabbitmqClusterReference": _cluster_ref,
        },
    }),
    ("rabbitmq.com/v1beta1", "TopicPermission"): _cr({
        "type": "object",
        "additionalProperties": False,
        "required": ["vhost", "permissions", "rabbitmqClusterReference"],
        "oneOf": [{"required": ["user"]}, {"required": ["userReference"]}],
        "properties": {
            "vhost": _str,
            "user": _str,
            "userReference": _local_ref,
            "permissions": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"exchange": _str, "write": _str, "read": _str},
            },
            "rabbitmqClusterReference": _cluster_ref,
        },
    }),
    ("rabbitmq.com/v1beta1", "Queue"): _cr({
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "rabbitmqClusterReference"],
        "properties": {
            "name": _str,
            "vhost": _str,
            "type": {"enum": ["quorum", "classic", "stream"]},
            "durable": _bool,
            "autoDelete": _bool,
            "deleteIfEmpty": _bool,
            "deleteIfUnused": _bool,
            "arguments": {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean"]}},
            "deletionPolicy": {"enum": ["delete", "retain"]},
            "rabbitmqClusterReference": _cluster_ref,
        },
    }),
    ("rabbitmq.com/v1beta1", "Binding"): _cr({
        "type": "object",
        "additionalProperties": False,
        "required": ["rabbitmqClusterReference"],
        "properties": {
            "vhost": _str,
            "source": _str,
            "destination": _str,
            "destinationType": {"enum": ["exchange", "queue"]},
            "routingKey": _str,
            "arguments": _obj,
            "rabbitmqClusterReference": _cluster_ref,
        },
    }),
    # MongoDB controllers for Kubernetes, community resource
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"): _cr({
        "type": "object",
        "additionalProperties": False,
        "required": ["security", "type", "users", "version"],
        "properties": {
            "type": {"enum": ["ReplicaSet"]},
            "members": {"type": "integer", "minimum": 0, "maximum": 50},
            "arbiters": _int,
            "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+"},
            "featureCompatibilityVersion": _str,
            "security": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "authentication": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["modes"],
                        "properties": {
                            "modes": {
                                "type": "array",
                                "items": {"enum": ["SCRAM", "SCRAM-SHA-256", "SCRAM-SHA-1", "X509"]},
                            },
                            "ignoreUnknownUsers": _bool,
                            "agentMode": _str,
                            "agentCertificateSecretRef": _obj,
                        },
                    },
                    "tls": _obj,
                    "roles": {"type": "array"},
                },
            },
            "users": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "roles", "passwordSecretRef", "scramCredentialsSecretName"],
                    "properties": {
                        "name": _str,
                        "db": _str,
                        "passwordSecretRef": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name"],
                            "properties": {"name": _str, "key": _str},
                        },
                        "roles": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name", "db"],
                                "properties": {"name": _str, "db": _str},
                            },
                        },
                        "scramCredentialsSecretName": {"type": "string", "pattern": DNS1123},
                        "connectionStringSecretName": {"type": "string", "pattern": DNS1123},
                        "connectionStringSecretNamespace": _str,
                        "connectionStringSecretAnnotations": _obj,
                        "additionalConnectionStringConfig": _obj,
                    },
                },
            },
            "statefulSet": {
                "type": "object",
                "additionalProperties": False,
                "required": ["spec"],
                "properties": {"spec": _obj, "metadata": _obj},
            },
            "additionalMongodConfig": _obj,
            "additionalConnectionStringConfig": _obj,
            "agent": _obj,
            "automationConfig": _obj,
            "prometheus": _obj,
            "replicaSetHorizons": {"type": "array"},
            "memberConfig": {"type": "array"},
            "clusterDomain": _str,
        },
    }),
}


# --- helpers ------------------------------------------------------------------


class Report:
    def __init__(self):
        self.errors = []

    def fail(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def check(self, ok, where, msg):
        if not ok:
            self.fail(where, msg)
        return ok


def ident(doc):
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def group_of(doc):
    api = str(doc.get("apiVersion", ""))
    return api.split("/")[0] if "/" in api else ""  # core kinds: "v1", no group


def selects(selector, labels):
    """matchLabels-only selector semantics (all we use)."""
    match = (selector or {}).get("matchLabels", selector or {})
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def env_map(container):
    return {e["name"]: e for e in container.get("env", [])}


# --- custom resources -----------------------------------------------------------


def check_custom_resources(crs, rep):
    for doc in crs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        schema = CR_SCHEMAS.get(key)
        if schema is None:
            rep.fail(ident(doc), f"no schema for custom resource {key[0]} {key[1]}: add one to validate.py")
            continue
        validator = jsonschema.Draft7Validator(schema)
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            path = "/".join(str(p) for p in err.path) or "(root)"
            rep.fail(ident(doc), f"{path}: {err.message}")


# --- runtime contract -------------------------------------------------------------


def check_contract(docs, rep):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    get = lambda kind: by_kind.get(kind, [])  # noqa: E731
    names = lambda kind: {d["metadata"]["name"] for d in get(kind)}  # noqa: E731

    for s in get("Secret"):
        rep.fail(ident(s), "Secrets must not be committed; reference them (README 'Secrets')")

    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in get("ConfigMap")}
    config = next((v for k, v in configmaps.items() if k.startswith("wushe-config")), {})
    rpc_timeout = int(config.get("RPC_TIMEOUT", 30))
    rep.check(config.get("WUSHE_HTTP_BIND") == "0.0.0.0:8080", "ConfigMap/wushe-config", "WUSHE_HTTP_BIND must be 0.0.0.0:8080")
    rep.check(config.get("GATEWAY_BIND") == "0.0.0.0:8000", "ConfigMap/wushe-config", "GATEWAY_BIND must be 0.0.0.0:8000")

    # Secrets made by operators from resources in this build: name -> keys.
    made = {}
    for u in get("User"):
        made[u["metadata"]["name"] + "-user-credentials"] = {"username", "password"}
    mongo_users = {}
    for m in get("MongoDBCommunity"):
        for u in m["spec"].get("users", []):
            db = u.get("db", "admin")
            name = u.get("connectionStringSecretName") or f"{m['metadata']['name']}-{db}-{u['name']}"
            made[name] = {"connectionString.standard", "connectionString.standardSrv", "username", "password"}
            mongo_users[name] = u
    secrets_known = dict(made, **EXTERNAL_SECRETS)

    service_accounts = {s["metadata"]["name"]: s for s in get("ServiceAccount")}
    vhosts = {v["spec"]["name"] for v in get("Vhost")}
    clusters = names("RabbitmqCluster")
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")]

    for w in workloads:
        where = ident(w)
        tmpl = w["spec"]["template"]
        pod = tmpl["spec"]
        labels = tmpl["metadata"].get("labels", {})
        component = labels.get("app.kubernetes.io/component")
        psc = pod.get("securityContext", {})

        rep.check(pod.get("automountServiceAccountToken") is False, where, "automountServiceAccountToken must be false")
        sa = pod.get("serviceAccountName")
        if rep.check(sa in service_accounts, where, f"serviceAccountName {sa!r} not in the build"):
            rep.check(service_accounts[sa].get("automountServiceAccountToken") is False,
                      f"ServiceAccount/{sa}", "automountServiceAccountToken must be false")
        rep.check(psc.get("runAsNonRoot") is True, where, "pod securityContext.runAsNonRoot must be true")
        rep.check(int(psc.get("runAsUser", 0)) >= 10000, where, "pod must run as a numeric user >= 10000")
        rep.check((psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", where, "pod seccompProfile must be RuntimeDefault")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        rep.check(grace > rpc_timeout + 10, where,
                  f"terminationGracePeriodSeconds {grace} must exceed the slowest worker (RPC_TIMEOUT {rpc_timeout} s) with margin")

        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        containers = pod.get("containers", [])
        inits = pod.get("initContainers", [])
        for c in containers + inits:
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext", {})
            rep.check(sc.get("allowPrivilegeEscalation") is False, cw, "allowPrivilegeEscalation must be false")
            rep.check(sc.get("readOnlyRootFilesystem") is True, cw, "readOnlyRootFilesystem must be true")
            rep.check("ALL" in (sc.get("capabilities") or {}).get("drop", []), cw, "capabilities must drop ALL")
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    rep.check(r in res.get(kind, {}), cw, f"resources.{kind}.{r} missing")
            image = c.get("image", "")
            rep.check(re.search(r"(:[\w.-]+|@sha256:[0-9a-f]{64})$", image) and not image.endswith(":latest"),
                      cw, f"image {image!r} must carry a fixed tag or digest")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            rep.check("emptyDir" in volumes.get(mounts.get("/tmp"), {}), cw, "/tmp must be an emptyDir (root filesystem is read-only)")
            env = env_map(c)
            seen = set()
            for e in c.get("env", []):
                for ref in re.findall(r"\$\((\w+)\)", e.get("value", "")):
                    rep.check(ref in seen, cw, f"env {e['name']} uses $({ref}) before it is defined")
                seen.add(e["name"])
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and rep.check(ref["name"] in secrets_known, cw,
                                     f"Secret {ref['name']!r} is neither made by an operator in this build nor documented"):
                    rep.check(ref["key"] in secrets_known[ref["name"]], cw, f"Secret {ref['name']!r} has no key {ref['key']!r}")
            for ef in c.get("envFrom", []):
                cm = (ef.get("configMapRef") or {}).get("name")
                if cm:
                    rep.check(cm in configmaps, cw, f"ConfigMap {cm!r} not in the build")
            if "AMQP_URI" in env:
                m = re.match(r"amqp://[^@]+@([\w.-]+):5672/([\w.-]+)$", env["AMQP_URI"].get("value", ""))
                if rep.check(m, cw, "AMQP_URI must be amqp://user:pass@host:5672/vhost"):
                    rep.check(m.group(1).split(".")[0] in clusters, cw, f"AMQP host {m.group(1)} is not a RabbitmqCluster in the build")
                    rep.check(m.group(2) in vhosts, cw, f"AMQP vhost {m.group(2)} is not a Vhost in the build")

        for c in containers:
            cw = f"{where} container {c['name']}"
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get_ = (c.get(probe) or {}).get("httpGet") or {}
                rep.check(get_.get("path") == path, cw, f"{probe} must be httpGet {path}")
                port = get_.get("port")
                rep.check(port in ports or port in ports.values(), cw, f"{probe} port {port!r} is not a container port")

        if component in ("nameko-service", "gateway"):
            main = containers[0]
            env = env_map(main)
            rep.check("AMQP_URI" in env, where, "AMQP_URI missing")
            rep.check(any(i.get("args") == ["topology"] and "AMQP_URI" in env_map(i) for i in inits), where,
                      "needs the `wushe topology` initContainer (with AMQP_URI) before it starts")
        if component == "nameko-service":
            args = main.get("args", [])
            svc = args[1] if len(args) == 2 and args[0] == "serve" else None
            if rep.check(svc, where, "args must be ['serve', NAME]"):
                rep.check(8080 in [p["containerPort"] for p in main.get("ports", [])], where, "nameko HTTP port must be 8080")
                db_var = f"{svc.upper()}_MONGO_DB"
                db = (env.get(db_var) or {}).get("value")
                rep.check(db, where, f"{db_var} missing")
                mongo_ref = ((env.get("MONGO_URI") or {}).get("valueFrom") or {}).get("secretKeyRef")
                if rep.check(mongo_ref and mongo_ref["name"] in mongo_users, where,
                             "MONGO_URI must come from a MongoDBCommunity user's connection-string Secret"):
                    roles = mongo_users[mongo_ref["name"]].get("roles", [])
                    rep.check({"name": "readWrite", "db": db} in roles, where, f"its MongoDB user needs readWrite on {db}")
        if component == "gateway":
            rep.check(main.get("args") == ["serve", "gateway"], where, "args must be ['serve', 'gateway']")
            rep.check(8000 in [p["containerPort"] for p in main.get("ports", [])], where, "gateway port must be 8000")
            rep.check("TOKEN_SECRET" in env, where, "TOKEN_SECRET missing")
            d = (env.get("PROMETHEUS_MULTIPROC_DIR") or {}).get("value")
            mounts = {m["mountPath"]: m["name"] for m in main.get("volumeMounts", [])}
            rep.check(d and "emptyDir" in volumes.get(mounts.get(d), {}), where,
                      "PROMETHEUS_MULTIPROC_DIR must be a mounted emptyDir")

        # Every workload is reachable by name (metrics) and fully covered by
        # the opt-in components when the overlay uses them.
        rep.check(any(selects(s["spec"].get("selector"), labels) for s in get("Service")), where, "no Service selects its pods")
        if get("HorizontalPodAutoscaler") and w["kind"] == "Deployment":
            hpas = [h for h in get("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == w["metadata"]["name"]]
            rep.check(len(hpas) == 1, where, "autoscaling is on: needs exactly one HPA (components/autoscaling)")
            rep.check("replicas" not in w["spec"], where, "an HPA scales it: spec.replicas must not be set")
            for h in hpas:
                rep.check(h["spec"].get("minReplicas", 1) <= h["spec"]["maxReplicas"], ident(h), "minReplicas > maxReplicas")
        if get("PodDisruptionBudget"):
            rep.check(any(selects(p["spec"]["selector"], labels) for p in get("PodDisruptionBudget")), where,
                      "disruption budgets are on: needs a PDB (components/disruption-budgets)")
        if get("NetworkPolicy"):
            rep.check(any(p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels) for p in get("NetworkPolicy")),
                      where, "network policies are on: needs its own allow policy (components/network-policies)")

    if get("NetworkPolicy"):
        rep.check(any(p["spec"]["podSelector"] == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                      and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in get("NetworkPolicy")),
                  "NetworkPolicy", "a default deny-all (ingress and egress) policy is required")

    for ing in get("Ingress"):
        where = ident(ing)
        rep.check("cert-manager.io/cluster-issuer" in ing["metadata"].get("annotations", {}), where, "cert-manager cluster-issuer annotation missing")
        tls_hosts = {h for t in ing["spec"].get("tls", []) for h in t.get("hosts", [])}
        for rule in ing["spec"].get("rules", []):
            rep.check(rule.get("host") in tls_hosts, where, f"host {rule.get('host')} is not covered by TLS")
            for p in rule["http"]["paths"]:
                b = p["backend"]["service"]
                svc = next((s for s in get("Service") if s["metadata"]["name"] == b["name"]), None)
                if rep.check(svc, where, f"backend Service {b['name']} not in the build"):
                    rep.check(b["port"].get("name") in [sp.get("name") for sp in svc["spec"]["ports"]]
                              or b["port"].get("number") in [sp["port"] for sp in svc["spec"]["ports"]],
                              where, "backend port not on the Service")

    for r in get("RabbitmqCluster"):
        rep.check(r["spec"].get("replicas", 1) >= 3, ident(r), "3 nodes or more: quorum queues need a majority")
    for m in get("MongoDBCommunity"):
        rep.check(m["spec"].get("members", 0) >= 3, ident(m), "a replica set of 3 members or more")
        rep.check(m["spec"]["users"], ident(m), "no users: every service adds one")
        for u in m["spec"]["users"]:
            conf = dict(m["spec"].get("additionalConnectionStringConfig") or {}, **(u.get("additionalConnectionStringConfig") or {}))
            rep.check(conf.get("w") == "majority", ident(m), f"user {u['name']}: connection string needs w=majority")
    users = names("User")
    for p in get("Permission"):
        rep.check(p["spec"]["vhost"] in vhosts, ident(p), f"vhost {p['spec']['vhost']} not in the build")
        ref = (p["spec"].get("userReference") or {}).get("name")
        rep.check(ref is None or ref in users, ident(p), f"User {ref} not in the build")
    for u in users:
        rep.check(any((p["spec"].get("userReference") or {}).get("name") == u for p in get("Permission")), f"User/{u}", "has no Permission")
    for d in get("Vhost") + get("User") + get("Permission"):
        rep.check(d["spec"]["rabbitmqClusterReference"].get("name") in clusters, ident(d), "rabbitmqClusterReference not in the build")

    return sorted({(u["passwordSecretRef"]["name"]) for u in mongo_users.values()} | set(EXTERNAL_SECRETS))


# --- external consumers (docs/consumers.md) ------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONSUMER_LABEL = "wushe.io/consumer"
CONSUMER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
TOPIC_WORD = re.compile(r"^(?:[a-z0-9_]+|\*|#)$")


def inbox_arguments():
    """INBOX_ARGUMENTS of services/common/inbox.py, read without importing the platform
    (this venv has none of its packages): module-level constants and that dict literal."""
    with open(os.path.join(ROOT, "services", "common", "inbox.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if isinstance(node.value, ast.Constant):
                constants[name] = node.value.value
            elif name == "INBOX_ARGUMENTS" and isinstance(node.value, ast.Dict):
                value = lambda n: constants[n.id] if isinstance(n, ast.Name) else ast.literal_eval(n)  # noqa: E731
                return {value(k): value(v) for k, v in zip(node.value.keys, node.value.values)}
    raise LookupError("INBOX_ARGUMENTS not found in services/common/inbox.py")


def services_present():
    base = os.path.join(ROOT, "services")
    return {d for d in os.listdir(base) if d != "common" and os.path.isfile(os.path.join(base, d, "service.py"))}


def check_consumers(docs, rep):
    """Each consuming system: one User without tags, its read-only Permission, one quorum
    Queue ext.NAME with the inbox arguments, Bindings from services' events exchanges to
    it, and a write-nothing TopicPermission on each of those exchanges."""
    kinds = ("User", "Permission", "TopicPermission", "Queue", "Binding")
    by_consumer = {}
    for d in docs:
        if d.get("kind") in kinds and group_of(d) == "rabbitmq.com":
            name = ((d.get("metadata") or {}).get("labels") or {}).get(CONSUMER_LABEL)
            if name is not None:
                by_consumer.setdefault(name, {k: [] for k in kinds})[d["kind"]].append(d)
            elif d["kind"] in ("Queue", "Binding", "TopicPermission"):
                rep.fail(ident(d), "only external consumers are declared as Queue/Binding/TopicPermission "
                         f"resources, with label {CONSUMER_LABEL} (the platform's own: `wushe topology`)")
    if not by_consumer:
        return
    expected_args = inbox_arguments()
    services = services_present()
    vhosts = {v["spec"]["name"] for v in docs if v.get("kind") == "Vhost"}
    for name, found in sorted(by_consumer.items()):
        where = f"consumer {name}"
        if not rep.check(CONSUMER_NAME.match(name), where, "name must be 2-40 of a-z, 0-9, '-'"):
            continue
        queue = f"ext.{name}"
        for kind in ("User", "Permission", "Queue"):
            rep.check(len(found[kind]) == 1, where, f"needs exactly one {kind} (has {len(found[kind])})")
        rep.check(found["Binding"], where, "needs at least one Binding")
        if not (found["User"] and found["Permission"] and found["Queue"]):
            continue
        user = found["User"][0]
        user_ref = user["metadata"]["name"]
        rep.check(not user["spec"].get("tags"), ident(user),
                  "no tags: even `management` lists every queue of the vhost")
        perm = found["Permission"][0]
        rep.check((perm["spec"].get("userReference") or {}).get("name") == user_ref, ident(perm),
                  f"userReference must be {user_ref}")
        want = {"configure": "^$", "write": "^$", "read": "^" + queue.replace(".", "\\.") + "$"}
        rep.check(perm["spec"].get("permissions") == want, ident(perm), f"permissions must be exactly {want}")
        q = found["Queue"][0]
        vhost = q["spec"].get("vhost", "/")
        rep.check(vhost in vhosts, ident(q), f"vhost {vhost} not in the build")
        rep.check(q["spec"].get("name") == queue, ident(q), f"spec.name must be {queue}")
        rep.check(q["spec"].get("durable") is True and not q["spec"].get("autoDelete"), ident(q),
                  "must be durable and not autoDelete")
        args = dict(q["spec"].get("arguments") or {})
        if "type" in q["spec"]:
            rep.check(args.setdefault("x-queue-type", q["spec"]["type"]) == q["spec"]["type"], ident(q),
                      "type and x-queue-type differ")
        rep.check(args == expected_args, ident(q),
                  f"type + arguments must be the inbox arguments of services/common/inbox.py {expected_args}")
        bound = set()
        for b in found["Binding"]:
            spec = b["spec"]
            rep.check(spec.get("destination") == queue and spec.get("destinationType") == "queue", ident(b),
                      f"destination must be queue {queue}")
            rep.check(spec.get("vhost", "/") == vhost, ident(b), f"vhost must be {vhost}, the queue's")
            source = spec.get("source", "")
            service = source[:-len(".events")] if source.endswith(".events") else None
            rep.check(service in services, ident(b), f"source {source!r} is no service's events exchange")
            key = spec.get("routingKey", "")
            words = key.split(".")
            rep.check(all(TOPIC_WORD.match(w) for w in words) and words[0] in ("wushe", "#", "*")
                      and (len(words) < 2 or words[1] in (service, "*", "#")), ident(b),
                      f"routingKey {key!r} cannot match an event type of {source}")
            bound.add(source)
        topics = {}
        for t in found["TopicPermission"]:
            rep.check((t["spec"].get("userReference") or {}).get("name") == user_ref, ident(t),
                      f"userReference must be {user_ref}")
            rep.check(t["spec"].get("vhost") == vhost, ident(t), f"vhost must be {vhost}")
            p = t["spec"].get("permissions") or {}
            rep.check(p.get("write") == "^$" and p.get("read") == "^$", ident(t), 'write and read must be "^$"')
            topics[p.get("exchange")] = t
        for source in sorted(bound - set(topics)):
            rep.fail(where, f"needs a TopicPermission (write \"^$\") on {source}")


def main(argv):
    if len(argv) != 3:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    rendered, builtins_out = argv[1], argv[2]
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    crs = [d for d in docs if any(group_of(d) == g or group_of(d).endswith("." + g) for g in CR_GROUPS)]
    builtins = [d for d in docs if d not in crs]
    with open(builtins_out, "w") as f:
        yaml.safe_dump_all(builtins, f, sort_keys=False)

    rep = Report()
    check_custom_resources(crs, rep)
    try:
        external = check_contract(docs, rep)
        check_consumers(docs, rep)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        # A malformed document (already reported above, if it is a custom
        # resource) can stop the cross checks: that is a failure too.
        rep.fail("contract checks", f"stopped on a malformed document: {type(exc).__name__}: {exc}")
        external = sorted(EXTERNAL_SECRETS)

    kinds = {}
    for d in crs:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    print(f"  {len(docs)} documents: {len(builtins)} built-in (to kubernetes-validate), "
          f"{len(crs)} custom ({', '.join(f'{k} x{n}' for k, n in sorted(kinds.items()))}) checked here")
    print(f"  Secrets the ops team creates before applying: {', '.join(external)}")
    for e in rep.errors:
        print(f"  FAIL {e}")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
