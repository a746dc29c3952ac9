#!/usr/bin/env bash
# Offline validation of the Kubernetes deployment (no cluster, no Docker).
#
# For every overlay in deploy/k8s/overlays/:
#   1. build      `kubectl kustomize` renders it;
#   2. contract   validate.py checks the operators' custom resources against
#                 partial schemas of their CRDs (kubernetes-validate has no
#                 schema for them) and the platform's runtime contract;
#   2b. backup    the nightly backup CronJob: its volume claim, its MongoDB
#                 user (role `backup`) and Secret, pod security, one run at a
#                 time (validate.py covers the long-running workloads);
#   3. schema     kubernetes-validate --strict checks every built-in kind
#                 against the bundled schemas of Kubernetes $K8S_VERSION;
#                 a kind without a schema there fails (custom resources were
#                 split off in step 2, so nothing is skipped silently);
# then once for all overlays:
#   4. checkov    --framework kubernetes on the rendered manifests, with the
#                 justified skips in .checkov.yaml, and --framework dockerfile
#                 on the repo's Dockerfile (the image cannot be built here);
#   5. yamllint   on the sources in deploy/k8s (.yamllint).
#
# Tools go into .venv-k8s/ at the repo root, pinned by tools.txt and
# tools.lock, installed once and reused while those files are unchanged.
# Needs python3 (3.11) and kubectl. Exits non-zero if any step fails.
#
# Environment: K8S_VERSION (default 1.30.0), PYTHON (default python3),
# KEEP_RENDERED=1 keeps the rendered manifests and prints where they are.
# To refresh tools.lock after editing tools.txt:
#   rm -rf .venv-k8s && python3 -m venv .venv-k8s &&
#   .venv-k8s/bin/pip install -r deploy/k8s/tools.txt &&
#   .venv-k8s/bin/pip freeze | grep -v '^pip=='   # into tools.lock, below its header
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.venv-k8s"
K8S_VERSION="${K8S_VERSION:-1.30.0}"
PYTHON="${PYTHON:-python3}"
START=$SECONDS

results=()    # "STATUS|step|detail"
failed=0
record() {    # record STATUS STEP DETAIL
    results+=("$1|$2|$3")
    [ "$1" = PASS ] || failed=1
}
section() { printf '\n== %s\n' "$*"; }

# --- tools ---------------------------------------------------------------------
section "tools (.venv-k8s)"
command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found: install it (only 'kubectl kustomize' is used, offline)" >&2; exit 2; }
stamp="$(cat "$HERE/tools.txt" "$HERE/tools.lock" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || { echo "could not create $VENV with $PYTHON" >&2; exit 2; }
fi
if [ "$(cat "$VENV/.tools-stamp" 2>/dev/null)" != "$stamp" ]; then
    t0=$SECONDS
    echo "installing pinned tools (first run or tools.txt/tools.lock changed) ..."
    if "$VENV/bin/pip" install --quiet --disable-pip-version-check \
            -r "$HERE/tools.txt" -c "$HERE/tools.lock" >"$VENV/install.log" 2>&1; then
        echo "$stamp" >"$VENV/.tools-stamp"
        echo "installed in $((SECONDS - t0)) s"
    else
        tail -n 30 "$VENV/install.log" >&2
        echo "tool installation failed (full log: $VENV/install.log)" >&2
        exit 2
    fi
else
    echo "reusing $VENV"
fi
kv_version="$("$VENV/bin/kubernetes-validate" --version 2>&1)"
checkov_version="$("$VENV/bin/checkov" --version 2>&1 | tail -n 1)"
yamllint_version="$("$VENV/bin/yamllint" --version 2>&1)"
kubectl_version="$(kubectl version --client 2>/dev/null | tr '\n' ' ')"
echo "kubectl: $kubectl_version"
echo "kubernetes-validate $kv_version (schemas for Kubernetes $K8S_VERSION), checkov $checkov_version, $yamllint_version"

OUT="$(mktemp -d "${TMPDIR:-/tmp}/wushe-k8s-check.XXXXXX")"
mkdir -p "$OUT/rendered" "$OUT/split"
if [ "${KEEP_RENDERED:-0}" = 1 ]; then
    echo "rendered manifests kept in $OUT/rendered"
else
    trap 'rm -rf "$OUT"' EXIT
fi

# --- every service folder is deployed ------------------------------------------------
# A service is a folder services/<name>/ with a service.py (services/common/catalog.py);
# each needs its component and a place in the listing (docs/adding-a-service.md, step 3).
section "services"
missing=()
found=0
for svc_dir in "$ROOT"/services/*/; do
    svc="$(basename "$svc_dir")"
    [ -f "$svc_dir/service.py" ] && [ "$svc" != common ] || continue
    found=$((found + 1))
    [ -f "$HERE/base/services/$svc/kustomization.yaml" ] || missing+=("$svc: no component base/services/$svc/")
    grep -qE "^  - services/$svc\$" "$HERE/base/kustomization.yaml" \
        || missing+=("$svc: not listed in base/kustomization.yaml components")
    for part in autoscaling disruption-budgets; do
        [ -f "$HERE/components/$part/$svc.yaml" ] || missing+=("$svc: no components/$part/$svc.yaml")
        grep -qE "^  - $svc\.yaml\$" "$HERE/components/$part/kustomization.yaml" \
            || missing+=("$svc: not listed in components/$part/kustomization.yaml")
    done
done
if [ ${#missing[@]} -eq 0 ]; then
    record PASS "services: each has its component, listed" "$found services"
else
    printf '  %s\n' "${missing[@]}"
    record FAIL "services: each has its component, listed" "${#missing[@]} problems (above)"
fi

# --- base builds on its own ------------------------------------------------------
section "base"
if kubectl kustomize "$HERE/base" >"$OUT/base.yaml" 2>"$OUT/base.err"; then
    record PASS "base: kustomize build" "$(grep -c '^kind:' "$OUT/base.yaml") objects"
else
    cat "$OUT/base.err"
    record FAIL "base: kustomize build" "see output above"
fi

# --- per overlay ------------------------------------------------------------------
overlays=()
for dir in "$HERE"/overlays/*/; do
    overlays+=("$(basename "$dir")")
done
[ ${#overlays[@]} -gt 0 ] || record FAIL "overlays" "none found in $HERE/overlays"

for o in "${overlays[@]}"; do
    section "overlay $o"
    rendered="$OUT/rendered/$o.yaml"
    if ! kubectl kustomize "$HERE/overlays/$o" >"$rendered" 2>"$OUT/$o.err"; then
        cat "$OUT/$o.err"
        record FAIL "$o: kustomize build" "see output above"
        rm -f "$rendered"   # nothing to scan
        continue
    fi
    record PASS "$o: kustomize build" "$(grep -c '^kind:' "$rendered") objects"

    if "$VENV/bin/python" "$HERE/validate.py" "$rendered" "$OUT/split/$o.builtin.yaml"; then
        record PASS "$o: custom resources + contract" "validate.py"
    else
        record FAIL "$o: custom resources + contract" "see FAIL lines above"
    fi

    if "$VENV/bin/python" - "$rendered" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
get = lambda kind: [d for d in docs if d["kind"] == kind]  # noqa: E731
errors = []
jobs = [c for c in get("CronJob") if c["metadata"]["name"] == "wushe-backup"]
if len(jobs) != 1:
    errors.append("CronJob/wushe-backup missing")
for cron in jobs:
    spec = cron["spec"]
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    if spec.get("concurrencyPolicy") != "Forbid":
        errors.append("concurrencyPolicy must be Forbid (two runs would prune each other)")
    if pod.get("automountServiceAccountToken") is not False:
        errors.append("automountServiceAccountToken must be false")
    (c,) = pod["containers"]
    if c.get("args", [None])[0] != "backup":
        errors.append("the container must run `wushe backup DIR`")
    sc = c.get("securityContext", {})
    if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
            and "ALL" in sc.get("capabilities", {}).get("drop", [])):
        errors.append("container securityContext: read-only root, no escalation, drop ALL")
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod.get("volumes", [])
              if "persistentVolumeClaim" in v}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    directory = c["args"][1] if len(c.get("args", [])) > 1 else ""
    mount = next((p for p in mounts if directory.startswith(p.rstrip("/") + "/")), None)
    if mount is None or mounts[mount] not in claims:
        errors.append(f"{directory} is not on a mounted PersistentVolumeClaim")
    elif claims[mounts[mount]] not in {p["metadata"]["name"] for p in get("PersistentVolumeClaim")}:
        errors.append(f"PersistentVolumeClaim {claims[mounts[mount]]} not in the build")
    env = {e["name"]: e for e in c.get("env", [])}
    ref = ((env.get("MONGO_URI") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
    users = [u for m in get("MongoDBCommunity") for u in m["spec"].get("users", [])
             if u.get("connectionStringSecretName") == ref.get("name")]
    if not users:
        errors.append(f"MONGO_URI Secret {ref.get('name')!r} is made by no MongoDB user in the build")
    elif {"name": "backup", "db": "admin"} not in users[0]["roles"]:
        errors.append(f"MongoDB user {users[0]['name']} needs role backup@admin")
for e in errors:
    print(f"  FAIL CronJob/wushe-backup: {e}")
sys.exit(1 if errors else 0)
EOF
    then
        record PASS "$o: backup CronJob" "volume, MongoDB user, security"
    else
        record FAIL "$o: backup CronJob" "see FAIL lines above"
    fi

    if [ -s "$OUT/split/$o.builtin.yaml" ]; then
        kv_out="$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$OUT/split/$o.builtin.yaml" 2>&1)"
        kv_rc=$?
        [ -n "$kv_out" ] && echo "$kv_out"
        if [ $kv_rc -ne 0 ]; then
            record FAIL "$o: kubernetes-validate --strict $K8S_VERSION" "see ERROR lines above"
        elif grep -q "Couldn't find schema" <<<"$kv_out"; then
            record FAIL "$o: kubernetes-validate --strict $K8S_VERSION" "a built-in kind has no schema in $K8S_VERSION"
        else
            record PASS "$o: kubernetes-validate --strict $K8S_VERSION" \
                "$(grep -c '^kind:' "$OUT/split/$o.builtin.yaml") built-in objects"
        fi
    else
        record FAIL "$o: kubernetes-validate --strict $K8S_VERSION" "nothing to validate"
    fi
done

# --- checkov, once over every rendered overlay -------------------------------------
section "checkov"
if ls "$OUT"/rendered/*.yaml >/dev/null 2>&1; then
    (cd "$OUT/rendered" && "$VENV/bin/checkov" --config-file "$HERE/.checkov.yaml" -d . 2>&1) | tee "$OUT/checkov.txt"
    rc=${PIPESTATUS[0]}
    status=FAIL
    [ "$rc" -eq 0 ] && status=PASS
    counts="$(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*' "$OUT/checkov.txt" | head -n 1)"
    off="$(grep -oE '^ *- CKV[0-9A-Z_]+' "$HERE/.checkov.yaml" | tr -d ' -' | paste -sd, -)"
    record "$status" "checkov (kubernetes)" "$counts; off in .checkov.yaml: $off"
    [ -n "$counts" ] || record FAIL "checkov (kubernetes)" "no scan results (did it run?)"
else
    record FAIL "checkov (kubernetes)" "no overlay rendered"
fi

# --- checkov on the Dockerfile (no Docker engine here: the image is not built) -----
section "checkov (Dockerfile)"
(cd "$ROOT" && "$VENV/bin/checkov" --framework dockerfile -f Dockerfile --skip-download --compact --quiet 2>&1) \
    | tee "$OUT/checkov-docker.txt"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then
    record PASS "checkov (Dockerfile)" "$(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$OUT/checkov-docker.txt" | head -n 1)"
else
    record FAIL "checkov (Dockerfile)" "see output above"
fi

# --- yamllint on the sources ---------------------------------------------------------
section "yamllint"
if (cd "$HERE" && "$VENV/bin/yamllint" --strict -c .yamllint .); then
    record PASS "yamllint" "$(cd "$HERE" && find . -name '*.yaml' -o -name '.yamllint' | wc -l) files"
else
    record FAIL "yamllint" "see output above"
fi

# --- summary ----------------------------------------------------------------------
section "summary (Kubernetes $K8S_VERSION, $((SECONDS - START)) s)"
for r in "${results[@]}"; do
    IFS='|' read -r status step detail <<<"$r"
    printf '  %-4s  %-48s %s\n' "$status" "$step" "$detail"
done
if [ $failed -ne 0 ]; then
    echo "k8s-check: FAILED"
    exit 1
fi
echo "k8s-check: all checks passed"
