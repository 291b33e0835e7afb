#!/bin/sh
# Installs (or upgrades) Royal Care as a systemd service on a Raspberry Pi or any Debian
# machine: the binary, the royal-care user, /var/lib/royal-care, the environment file,
# the server's unit and the daily backup timer; then (re)starts them.
#
#   sudo deploy/install.sh [--dry-run] [BINARY]
#
# BINARY defaults to target/release/royal-care next to this kit. --dry-run prints every
# step without doing it (and needs no root). Safe to run again: an upgrade first takes a
# backup with the installed binary, keeps the environment file, and restarts the server.
# docs/OPERATIONS.md walks through it.
set -eu

kit=$(cd "$(dirname "$0")" && pwd)
dry=no
if [ "${1:-}" = "--dry-run" ]; then
    dry=yes
    shift
fi
binary=${1:-$kit/../target/release/royal-care}

db=/var/lib/royal-care/royal-care.db
units="royal-care.service royal-care-backup.service royal-care-backup.timer"

say() { printf '%s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
# Prints each step as a shell command; runs it unless --dry-run.
run() {
    say "+ $*"
    if [ "$dry" = no ]; then
        "$@"
    fi
}

[ -f "$binary" ] && [ -x "$binary" ] ||
    fail "there is no royal-care binary at $binary; build it (cargo build --release) or give its path."
for f in $units royal-care.env; do
    [ -f "$kit/$f" ] || fail "the kit is missing $kit/$f; run this script from a complete copy of deploy/."
done
if [ "$dry" = no ] && [ "$(id -u)" != 0 ]; then
    fail "installing needs root; run it as: sudo $0 $*"
fi

# An upgrade: back up the database with the binary that made it, before replacing it.
if [ -e "$db" ] && [ -e /etc/systemd/system/royal-care-backup.service ]; then
    run systemctl start royal-care-backup.service
fi

run install -m 0755 "$binary" /usr/local/bin/royal-care
if [ "$dry" = yes ] || ! getent passwd royal-care >/dev/null; then
    run useradd --system --user-group --home-dir /var/lib/royal-care --no-create-home \
        --shell /usr/sbin/nologin royal-care
fi
run install -d -m 0700 -o royal-care -g royal-care /var/lib/royal-care /var/lib/royal-care/backups
run install -d -m 0755 /etc/royal-care
# The clinic's settings survive upgrades: only a missing file is installed.
if [ "$dry" = yes ] || [ ! -e /etc/royal-care/royal-care.env ]; then
    run install -m 0640 -o root -g royal-care "$kit/royal-care.env" /etc/royal-care/royal-care.env
fi
for u in $units; do
    run install -m 0644 "$kit/$u" "/etc/systemd/system/$u"
done
run systemctl daemon-reload
run systemctl enable royal-care.service royal-care-backup.timer
run systemctl restart royal-care.service
run systemctl start royal-care-backup.timer

say "Royal Care is installed; the database is $db."
say "Add the first operator (the password is asked twice):"
say "  sudo -u royal-care royal-care --db $db user add --username maria --role operator"
say "Then open http://<this machine's address>:8000/ and check: systemctl status royal-care"
