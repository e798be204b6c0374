#!/usr/bin/env bash
# deploy/ checked without a Docker engine (none runs on these machines): Debian's docker-compose (1.29, installed
# by scripts/bootstrap.sh) must accept deploy/docker-compose.yml (`config`), and the resolved configuration must
# hold what docs/DEMO.md promises:
#   - the services and profiles: postgres, clickhouse, replicate, generate, prometheus (default); verify (tools); redpanda,
#     console (kafka, debezium); capture, sink (kafka); connect, register-connector (debezium);
#   - PostgreSQL ≥ 15 with wal_level=logical and the repository's sql/postgres/schema.sql as its first initdb
#     script; a ClickHouse ≥ 23.2 image; replicate connecting as the REPLICATION + SELECT role streamshop_cdc;
#   - every streamshop service runs a subcommand and options that the built binary has (checked against its
#     --help), and every STREAMSHOP_* variable it sets is one the binary reads;
#   - secrets are interpolated from the environment (STREAMSHOP_CDC_PASSWORD reaches replicate's PGPASSWORD) and
#     required: without them `config` refuses, naming the variable; the sample ones only come from the documented
#     trial file deploy/trial.env (`--env-file deploy/trial.env`); no password variable has a default;
#   - every published port listens on 127.0.0.1 unless STREAMSHOP_BIND_ADDRESS says otherwise;
#   - prometheus mounts deploy/prometheus/prometheus.yml (clean under `promtool check config`) and alerts.yml, and
#     replicate, capture and sink serve /metrics on port 9187 of their containers;
#   - every file mounted or copied exists; deploy/Dockerfile builds with scripts/bootstrap.sh on debian:12, and its
#     runtime stage installs the package of every shared library the binary needs (readelf + dpkg -S here).
# Usage: test_compose_config.sh path/to/streamshop
set -euo pipefail

STREAMSHOP=$(realpath "${1:?usage: test_compose_config.sh path/to/streamshop}")
REPO=$(cd "$(dirname "$0")/../.." && pwd -P)
COMPOSE=$REPO/deploy/docker-compose.yml
WORK=$(mktemp -d /tmp/streamshop-test_compose_config.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
log() { echo "[test_compose_config] $*"; }
fail() { echo "[test_compose_config] FAIL: $*" >&2; exit 1; }

command -v docker-compose >/dev/null || fail "docker-compose not found (Debian package docker-compose; run scripts/bootstrap.sh)"
log "$(docker-compose version --short 2>/dev/null || docker-compose version | head -n 1)"

# Passwords are required: no default for any of them in the file, and `config` refuses without them (an empty
# --env-file, so that a deploy/.env of the checkout does not count), naming each variable.
PASSWORD_VARS="STREAMSHOP_PG_PASSWORD STREAMSHOP_CDC_PASSWORD STREAMSHOP_CLICKHOUSE_PASSWORD"
if grep -nE '\$\{[A-Z_]*PASSWORD[A-Z_]*(:?-|\})' "$COMPOSE"; then
  fail "a password variable above has a default or is optional (use \${VAR:?…})"
fi
: >"$WORK/empty.env"
for var in $PASSWORD_VARS; do
  # shellcheck disable=SC2046
  if env -u "$var" $(for v in $PASSWORD_VARS; do [[ $v == "$var" ]] || echo "$v=set"; done) \
    docker-compose --env-file "$WORK/empty.env" -f "$COMPOSE" config >/dev/null 2>"$WORK/missing.err"; then
    fail "docker-compose config accepted the file without $var"
  fi
  grep -q "set $var or, for a local trial only, use --env-file deploy/trial.env" "$WORK/missing.err" ||
    { cat "$WORK/missing.err"; fail "the refusal without $var does not name it and the trial file"; }
done
log "without a password variable, config refuses and names it (and deploy/trial.env)"
# The documented trial mode: deploy/trial.env holds the sample passwords, and with it the file resolves.
for var in $PASSWORD_VARS; do
  grep -qE "^$var=.+" "$REPO/deploy/trial.env" || fail "deploy/trial.env does not set $var"
done
(cd "$REPO" && env -u STREAMSHOP_PG_PASSWORD -u STREAMSHOP_CDC_PASSWORD -u STREAMSHOP_CLICKHOUSE_PASSWORD \
  docker-compose --env-file deploy/trial.env -f deploy/docker-compose.yml config) >"$WORK/trial.yml" 2>"$WORK/trial.err" ||
  { cat "$WORK/trial.err"; fail "docker-compose --env-file deploy/trial.env config failed"; }
trial_cdc=$(sed -n 's/^STREAMSHOP_CDC_PASSWORD=//p' "$REPO/deploy/trial.env")
grep -qF "PGPASSWORD: $trial_cdc" "$WORK/trial.yml" || fail "the trial file's CDC password does not reach the services"
for doc in README.md docs/DEMO.md docs/SECURITY.md; do
  grep -q "env-file deploy/trial.env" "$REPO/$doc" || fail "$doc does not document the trial mode (--env-file deploy/trial.env)"
done
log "deploy/trial.env: the documented trial mode resolves"

# Published ports: this host only unless STREAMSHOP_BIND_ADDRESS is set (checked on the resolved file below).
STREAMSHOP_BIND_ADDRESS=192.0.2.7 STREAMSHOP_PG_PASSWORD=x STREAMSHOP_CDC_PASSWORD=x STREAMSHOP_CLICKHOUSE_PASSWORD=x \
  docker-compose --env-file "$WORK/empty.env" -f "$COMPOSE" config >"$WORK/bind.yml"

# The secrets come from the environment: a value set here must show up in the resolved configuration.
export STREAMSHOP_PG_PASSWORD=pg-from-env STREAMSHOP_CDC_PASSWORD=cdc-from-env STREAMSHOP_CLICKHOUSE_PASSWORD=ch-from-env
unset STREAMSHOP_BIND_ADDRESS
docker-compose -f "$COMPOSE" config >"$WORK/config.yml" 2>"$WORK/config.err" ||
  { cat "$WORK/config.err"; fail "docker-compose config rejected deploy/docker-compose.yml"; }
grep -v "^\s*$" "$WORK/config.err" | sed 's/^/[test_compose_config] docker-compose: /' || true
services=$(docker-compose -f "$COMPOSE" config --services | sort | paste -sd ' ')
profiles=$(docker-compose -f "$COMPOSE" config --profiles | sort | paste -sd ' ')
log "services: $services"
log "profiles: $profiles"
[[ "$services" == "capture clickhouse connect console generate postgres prometheus redpanda register-connector replicate sink verify" ]] ||
  fail "unexpected services: $services"
[[ "$profiles" == "debezium kafka tools" ]] || fail "unexpected profiles: $profiles"


# The binary's subcommands, and each one's options and environment variables, from its own --help.
for cmd in replicate generate verify capture sink; do "$STREAMSHOP" "$cmd" --help >"$WORK/help-$cmd.txt"; done

python3 - "$WORK/config.yml" "$REPO" "$WORK" "$WORK/bind.yml" <<'PY' || fail "resolved configuration check failed (above)"
import os, re, sys
import yaml  # python3-yaml: a dependency of Debian's docker-compose

config_path, repo, work, bind_path = sys.argv[1:5]
cfg = yaml.safe_load(open(config_path))
svc = cfg["services"]
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)

def profiles(name):
    return sorted(svc[name].get("profiles") or [])

check(profiles("postgres") == [] and profiles("clickhouse") == [] and profiles("replicate") == []
      and profiles("generate") == [] and profiles("prometheus") == [],
      "postgres, clickhouse, replicate, generate, prometheus must be default services")
check(profiles("verify") == ["tools"], "verify must be in profile tools")
check(profiles("redpanda") == ["debezium", "kafka"] and profiles("console") == ["debezium", "kafka"],
      "redpanda and console must be in profiles kafka and debezium")
check(profiles("capture") == ["kafka"] and profiles("sink") == ["kafka"], "capture and sink must be in profile kafka")
check(profiles("connect") == ["debezium"] and profiles("register-connector") == ["debezium"],
      "connect and register-connector must be in profile debezium")

# Every published port: on 127.0.0.1 by default, on STREAMSHOP_BIND_ADDRESS when set (192.0.2.7 in bind.yml).
def host_ips(services):
    out = {}
    for name, s in services.items():
        for p in s.get("ports", []):
            if isinstance(p, dict):
                out[(name, str(p.get("published")))] = p.get("host_ip", "")
            else:  # "host_ip:published:target[/proto]" (a port without host_ip has fewer fields)
                parts = str(p).split(":")
                out[(name, parts[-2] if len(parts) >= 2 else parts[0])] = parts[0] if len(parts) == 3 else ""
    return out
published = host_ips(svc)
check({n for n, _ in published} == {"postgres", "clickhouse", "redpanda", "console", "connect", "replicate", "capture",
                                    "sink", "prometheus"} and len(published) == 11,
      f"expected the 11 published ports of postgres, clickhouse, redpanda, console, connect, replicate, capture, "
      f"sink, prometheus: {published}")
for (name, port), ip in sorted(published.items()):
    check(ip == "127.0.0.1", f"{name} publishes port {port} on '{ip or 'every address'}', not 127.0.0.1")
for (name, port), ip in sorted(host_ips(yaml.safe_load(open(bind_path))["services"]).items()):
    check(ip == "192.0.2.7", f"{name} publishes port {port} on '{ip}' although STREAMSHOP_BIND_ADDRESS=192.0.2.7")

# PostgreSQL: >= 15, logical decoding, the repository's schema as the first init script.
pg = svc["postgres"]
m = re.fullmatch(r"postgres:(\d+)(\..*)?", pg["image"])
check(m and int(m.group(1)) >= 15, f"postgres image {pg['image']} is not PostgreSQL >= 15")
check("wal_level=logical" in pg.get("command", []), "postgres does not run with wal_level=logical")
mounts = {}
for v in pg.get("volumes", []):
    src, dst = (v["source"], v["target"]) if isinstance(v, dict) else v.split(":")[:2]
    mounts[dst] = src
init = sorted((d, s) for d, s in mounts.items() if d.startswith("/docker-entrypoint-initdb.d/"))
check(init and os.path.realpath(init[0][1]) == os.path.realpath(os.path.join(repo, "sql/postgres/schema.sql")),
      f"the first initdb script is not sql/postgres/schema.sql: {init}")
for d, s in init:
    check(os.path.isfile(s), f"initdb script {s} does not exist")
check(pg["environment"].get("STREAMSHOP_CDC_PASSWORD") == "cdc-from-env", "postgres does not get the CDC password")

# ClickHouse: a server image new enough for the modern dialect (>= 23.2).
ch = svc["clickhouse"]
m = re.fullmatch(r"clickhouse/clickhouse-server:(\d+)\.(\d+).*", ch["image"])
check(m and (int(m.group(1)), int(m.group(2))) >= (23, 2), f"clickhouse image {ch['image']} is older than 23.2")

# Prometheus: the repository's prometheus.yml and alerts.yml, mounted where the config names them; every
# streamshop service it scrapes serves /metrics on port 9187 of its container.
prom_mounts = {}
for v in svc["prometheus"].get("volumes", []):
    src, dst = (v["source"], v["target"]) if isinstance(v, dict) else v.split(":")[:2]
    prom_mounts[dst] = src
for name in ("prometheus.yml", "alerts.yml"):
    src = prom_mounts.get(f"/etc/prometheus/{name}", "")
    check(os.path.realpath(src) == os.path.realpath(os.path.join(repo, "deploy/prometheus", name)),
          f"prometheus does not mount deploy/prometheus/{name} at /etc/prometheus/{name}: {prom_mounts}")
check("--config.file=/etc/prometheus/prometheus.yml" in svc["prometheus"].get("command", []),
      "prometheus does not run with /etc/prometheus/prometheus.yml")
for name in ("replicate", "capture", "sink"):
    check(svc[name]["environment"].get("STREAMSHOP_HTTP_LISTEN") == "0.0.0.0:9187",
          f"{name} does not serve /metrics on port 9187 of its container (STREAMSHOP_HTTP_LISTEN)")

# Console config file exists.
for v in svc["console"].get("volumes", []):
    src = v["source"] if isinstance(v, dict) else v.split(":")[0]
    check(os.path.isfile(src), f"console mounts {src}, which does not exist")

# streamshop services: built from deploy/Dockerfile with the repository as context; real subcommands/options/env.
helps = {c: open(os.path.join(work, f"help-{c}.txt")).read()
         for c in ("replicate", "generate", "verify", "capture", "sink")}
for name in ("replicate", "generate", "verify", "capture", "sink", "register-connector"):
    s = svc[name]
    b = s.get("build", {})
    check(os.path.realpath(b.get("context", "")) == os.path.realpath(repo), f"{name}: build context is not the repo")
    check(os.path.isfile(os.path.join(b.get("context", ""), b.get("dockerfile", ""))), f"{name}: no Dockerfile")
    check(s.get("image") == "streamshop:local", f"{name}: image is not streamshop:local")
for name in ("replicate", "generate", "verify", "capture", "sink"):
    s = svc[name]
    cmd = s["command"]
    check("entrypoint" not in s, f"{name}: must run the streamshop entrypoint")
    check(cmd[0] in helps, f"{name}: '{cmd[0]}' is not a streamshop subcommand")
    if cmd[0] not in helps:
        continue
    for opt in (a.split("=")[0] for a in cmd[1:] if a.startswith("--")):
        check(re.search(r"(^|[\s,])" + re.escape(opt) + r"\b", helps[cmd[0]], re.M),
              f"{name}: option {opt} is not in `streamshop {cmd[0]} --help`")
    for var in s.get("environment", {}):
        if var.startswith("STREAMSHOP_"):
            check(f"Env:{var}" in helps[cmd[0]] or f"env {var}" in helps[cmd[0]],
                  f"{name}: `streamshop {cmd[0]}` does not read {var}")
rep = svc["replicate"]["environment"]
check(rep["STREAMSHOP_PG_URL"].startswith("postgresql://streamshop_cdc@postgres:"),
      "replicate must connect as streamshop_cdc (REPLICATION + SELECT)")
check(rep.get("PGPASSWORD") == "cdc-from-env", "replicate's PGPASSWORD is not taken from STREAMSHOP_CDC_PASSWORD")
for name in ("replicate", "verify", "sink"):
    env = svc[name]["environment"]
    check(env.get("STREAMSHOP_CLICKHOUSE_PASSWORD") == "ch-from-env" and "@" not in env["STREAMSHOP_CLICKHOUSE_URL"],
          f"{name}'s ClickHouse password must come from STREAMSHOP_CLICKHOUSE_PASSWORD, not the URL")
check(svc["generate"]["environment"].get("PGPASSWORD") == "pg-from-env",
      "generate's PGPASSWORD is not taken from STREAMSHOP_PG_PASSWORD")
check("depends_on" in svc["replicate"] and
      all(svc["replicate"]["depends_on"].get(d, {}).get("condition") == "service_healthy"
          for d in ("postgres", "clickhouse")), "replicate must wait for healthy postgres and clickhouse")
for name in ("postgres", "clickhouse", "redpanda"):
    check("healthcheck" in svc[name], f"{name} has no healthcheck")

# Debezium: the repository's connector config, registered by the repository's script.
reg = svc["register-connector"]
check(reg["entrypoint"][-1] == "/opt/streamshop/scripts/register_connector.sh", "register-connector script path")
check(reg["command"] == ["/opt/streamshop/connectors/postgres-source.json"], "register-connector config path")
check(reg["environment"].get("STREAMSHOP_CONNECT_URL") == "http://connect:8083", "register-connector Connect URL")
conn = svc["connect"]["environment"]
check(conn.get("CONNECT_CONFIG_PROVIDERS") == "env" and conn.get("STREAMSHOP_PG_PASSWORD") == "cdc-from-env",
      "connect must resolve ${env:STREAMSHOP_PG_PASSWORD} of connectors/postgres-source.json from its environment")
check("${env:STREAMSHOP_PG_PASSWORD}" in open(os.path.join(repo, "connectors/postgres-source.json")).read(),
      "connectors/postgres-source.json no longer takes its password from ${env:STREAMSHOP_PG_PASSWORD}")

for p in problems:
    print("  -", p)
sys.exit(1 if problems else 0)
PY
log "resolved configuration: services, profiles, loopback ports, images, init scripts, commands, options, env and secrets OK"

# The Prometheus configuration the compose file mounts: valid, with the alert rules, scraping job streamshop.
promtool check config "$REPO/deploy/prometheus/prometheus.yml" >"$WORK/promtool.log" 2>&1 ||
  { cat "$WORK/promtool.log"; fail "promtool check config deploy/prometheus/prometheus.yml"; }
grep -q "job_name: streamshop " "$REPO/deploy/prometheus/prometheus.yml" ||
  fail "deploy/prometheus/prometheus.yml has no job streamshop (StreamshopScrapeFailing expects it)"
log "deploy/prometheus/prometheus.yml: promtool check config OK"

# The Grafana dashboard: valid JSON, and every panel's query valid PromQL (parsed by promtool as recording rules,
# with Grafana's variables $instance and $__rate_interval filled in).
DASHBOARD=$REPO/deploy/grafana/streamshop-dashboard.json
jq -e '.panels | length > 0' "$DASHBOARD" >/dev/null || fail "$DASHBOARD is not a dashboard (jq)"
{
  echo "groups: [{name: dashboard, rules: ["
  jq -r '.panels[].targets[].expr | gsub("\\$instance"; ".*") | gsub("\\$__rate_interval"; "1m") | @json' "$DASHBOARD" |
    awk '{ printf "  {record: dashboard:q%d, expr: %s},\n", NR, $0 }'
  echo "]}]"
} >"$WORK/dashboard-rules.yml"
promtool check rules "$WORK/dashboard-rules.yml" >"$WORK/dashboard-rules.log" 2>&1 ||
  { cat "$WORK/dashboard-rules.log" "$WORK/dashboard-rules.yml"; fail "a dashboard query is not valid PromQL"; }
log "deploy/grafana/streamshop-dashboard.json: $(jq '[.panels[].targets[]] | length' "$DASHBOARD") queries parse (promtool)"

# ------------------------------------------------------------------------------------------ Dockerfile
DOCKERFILE=$REPO/deploy/Dockerfile
grep -qE '^FROM debian:12 AS build$' "$DOCKERFILE" || fail "the build stage is not debian:12"
grep -qE '^FROM debian:12-slim$' "$DOCKERFILE" || fail "the runtime stage is not debian:12-slim"
grep -qE 'bash scripts/bootstrap\.sh' "$DOCKERFILE" || fail "the build stage does not run scripts/bootstrap.sh"
# Every COPY source (from the build context) exists and is let through by deploy/Dockerfile.dockerignore.
while read -r src; do
  [[ -e "$REPO/$src" ]] || fail "Dockerfile copies $src, which does not exist"
  grep -qxF "!${src%/}" "$REPO/deploy/Dockerfile.dockerignore" ||
    grep -qxF "!${src%/}/" "$REPO/deploy/Dockerfile.dockerignore" ||
    grep -qxF "!$(dirname "$src")/" "$REPO/deploy/Dockerfile.dockerignore" ||
    fail "Dockerfile copies $src, but deploy/Dockerfile.dockerignore excludes it"
done < <(sed -n 's/^COPY \(--from=[^ ]* \)\{0,1\}\([^ ]*\) .*/\1\2/p' "$DOCKERFILE" | grep -v '^--from=')
# The runtime stage installs the Debian package of every library the binary links (libc6, libstdc++6 and
# libgcc-s1 are in debian:12-slim).
runtime_pkgs=$(sed -n '/^FROM debian:12-slim/,$p' "$DOCKERFILE" | tr -s ' \\\n' ' ')
for lib in $(readelf -d "$STREAMSHOP" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
  [[ -n "$pkg" ]] || fail "no Debian package provides $lib"
  case $pkg in libc6 | libstdc++6 | libgcc-s1) continue ;; esac
  [[ " $runtime_pkgs " == *" $pkg "* ]] || fail "the runtime stage does not install $pkg (for $lib)"
done
log "Dockerfile: debian:12 build stage via scripts/bootstrap.sh; runtime packages cover $(readelf -d "$STREAMSHOP" |
  grep -c NEEDED) shared libraries; COPY sources exist and pass the .dockerignore"
log "not exercised here (no Docker engine): pulling images, building the image, starting any container"
log "PASS"
