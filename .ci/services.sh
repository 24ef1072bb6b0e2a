# Services the test suite needs, installed and started by the project itself.
# Source this file, then call start_services / stop_services.
#   - a throwaway PostgreSQL 15 cluster on 127.0.0.1 (Optuna RDB storage tests)
#   - headless Chromium (report rendering test)
# Exports LOCLAB_TEST_POSTGRES_URL and LOCLAB_TEST_CHROMIUM for pytest.

_LOCLAB_PG_PORT=${LOCLAB_PG_PORT:-55432}
_LOCLAB_PG_DIR=${LOCLAB_PG_DIR:-/tmp/loclab-pg-$_LOCLAB_PG_PORT}

_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

_apt_install() {
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
    _as_root apt-get update -q >/dev/null 2>&1
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  }
}

_pg_bin() {
  local b
  for b in "$(command -v "$1" 2>/dev/null)" /usr/lib/postgresql/*/bin/"$1"; do
    [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

_pg_run() {  # run a PostgreSQL binary as a non-root user (initdb refuses root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  if ! _pg_bin initdb >/dev/null; then
    echo "services: installing PostgreSQL (Debian package postgresql)"
    _apt_install postgresql || { echo "services: cannot install PostgreSQL" >&2; return 1; }
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home postgres
  fi
  local initdb pg_ctl
  initdb=$(_pg_bin initdb); pg_ctl=$(_pg_bin pg_ctl)
  _pg_run "$pg_ctl" -D "$_LOCLAB_PG_DIR" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$_LOCLAB_PG_DIR"; mkdir -p "$_LOCLAB_PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$_LOCLAB_PG_DIR"
  _pg_run "$initdb" -D "$_LOCLAB_PG_DIR" -U loclab --auth=trust -E UTF8 >/dev/null
  _pg_run "$pg_ctl" -D "$_LOCLAB_PG_DIR" -w -l "$_LOCLAB_PG_DIR/server.log" \
    -o "-h 127.0.0.1 -p $_LOCLAB_PG_PORT -k $_LOCLAB_PG_DIR -c fsync=off" start >/dev/null
  _pg_run "$(_pg_bin createdb)" -h 127.0.0.1 -p "$_LOCLAB_PG_PORT" -U loclab loclab_test
  export LOCLAB_TEST_POSTGRES_URL="postgresql+psycopg2://loclab@127.0.0.1:$_LOCLAB_PG_PORT/loclab_test"
  echo "services: PostgreSQL on 127.0.0.1:$_LOCLAB_PG_PORT"
}

stop_postgres() {
  local pg_ctl
  pg_ctl=$(_pg_bin pg_ctl) || return 0
  _pg_run "$pg_ctl" -D "$_LOCLAB_PG_DIR" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$_LOCLAB_PG_DIR"
}

start_chromium() {
  local c
  c=$(command -v chromium || command -v chromium-browser || true)
  if [ -z "$c" ]; then
    echo "services: installing Chromium (Debian package chromium)"
    _apt_install chromium || { echo "services: cannot install Chromium" >&2; return 1; }
    c=$(command -v chromium)
  fi
  export LOCLAB_TEST_CHROMIUM="$c"
}

start_services() { start_postgres && start_chromium; }
stop_services() { stop_postgres; }
