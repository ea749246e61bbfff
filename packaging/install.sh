#!/bin/sh
# Installs one Basalt node as a systemd service: the binary, the unit, the `basalt` system
# user and the directories. Safe to run again (an upgrade): it never overwrites
# /etc/basalt/env or anything under /var/lib/basalt.
#
#   sudo packaging/install.sh [--binary PATH] [--prefix DIR] [--no-user]
#   sudo systemctl daemon-reload && sudo systemctl enable --now basalt
#
#   --binary PATH  the basalt-server to install (default: target/release/basalt-server;
#                  build it with `cargo build --release -p basalt-server`)
#   --prefix DIR   where the binary goes, under DIR/bin (default: /usr/local); the unit's
#                  ExecStart is rewritten to match
#   --no-user      do not create the system user (it must exist for the service to start)
#   DESTDIR=DIR    stage everything under DIR instead of / (for packaging and testing); the
#                  user is then not created (a staged tree has no user database to change)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
binary="$here/../target/release/basalt-server"
prefix=/usr/local
create_user=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --binary=*) binary=${1#*=}; shift ;;
        --prefix) prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --no-user) create_user=no; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
destdir=${DESTDIR:-}
user=basalt
home=/var/lib/basalt

if [ ! -x "$binary" ]; then
    echo "install.sh: $binary is not an executable; build it first: cargo build --release -p basalt-server" >&2
    exit 1
fi

# The user: a system account without a login shell, home in the state directory.
if [ -n "$destdir" ]; then
    echo "install.sh: DESTDIR is set: not creating user '$user' (create it on the target)"
    owner=""
elif [ "$create_user" = no ]; then
    owner="$user:$user"
elif id "$user" >/dev/null 2>&1; then
    echo "install.sh: user '$user' exists"
    owner="$user:$user"
else
    nologin=$(command -v nologin || echo /usr/sbin/nologin)
    useradd --system --user-group --home-dir "$home" --no-create-home --shell "$nologin" \
        --comment "Basalt graph database" "$user"
    echo "install.sh: created system user '$user'"
    owner="$user:$user"
fi

# install(1) with an owner only when installing for real (a staged tree keeps ours).
own() { if [ -n "$owner" ]; then echo "-o ${owner%%:*} -g ${owner##*:}"; fi; }

install -d -m 0755 "$destdir$prefix/bin" "$destdir$prefix/share/doc/basalt" "$destdir/etc/systemd/system"
install -m 0755 "$binary" "$destdir$prefix/bin/basalt-server"
# The unit's Documentation= points at this copy.
install -m 0644 "$here/../README.md" "$destdir$prefix/share/doc/basalt/README.md"
sed -e "s|^ExecStart=/usr/local/bin/basalt-server|ExecStart=$prefix/bin/basalt-server|" \
    -e "s|^Documentation=file:/usr/local/|Documentation=file:$prefix/|" \
    "$here/basalt.service" > "$destdir/etc/systemd/system/basalt.service.tmp"
chmod 0644 "$destdir/etc/systemd/system/basalt.service.tmp"
mv "$destdir/etc/systemd/system/basalt.service.tmp" "$destdir/etc/systemd/system/basalt.service"

# /etc/basalt/env: settings and secrets (BASALT_ROOT_PASSWORD, BASALT_CLUSTER_SECRET,
# BASALT_HTTP_BIND); root-owned, readable by the service's group only. Kept if present.
# shellcheck disable=SC2046
install -d -m 0750 $(own | sed 's/-o [^ ]* //') "$destdir/etc/basalt"
if [ ! -e "$destdir/etc/basalt/env" ]; then
    cat > "$destdir/etc/basalt/env" <<'EOF'
# Environment of basalt.service (see basalt-server --help for every BASALT_* variable).
# BASALT_ROOT_PASSWORD=           # the root password on the first start (else generated,
#                                 # written to /var/lib/basalt/config/root-password)
# BASALT_HTTP_BIND=0.0.0.0        # serve other machines (default: 127.0.0.1 only)
# BASALT_HTTP_PORT=2480
# BASALT_CLUSTER_SECRET=
EOF
    chmod 0640 "$destdir/etc/basalt/env"
    if [ -n "$owner" ]; then chgrp "${owner##*:}" "$destdir/etc/basalt/env"; fi
fi

# The home (systemd's StateDirectory= creates it too; this makes it right for a manual
# start as well). Only the service user may enter it.
# shellcheck disable=SC2046
install -d -m 0700 $(own) "$destdir$home"

echo "install.sh: installed $destdir$prefix/bin/basalt-server and $destdir/etc/systemd/system/basalt.service"
if [ -z "$destdir" ]; then
    echo "next: systemctl daemon-reload && systemctl enable --now basalt"
    echo "      the first start writes the root password to $home/config/root-password (mode 0600)"
fi
