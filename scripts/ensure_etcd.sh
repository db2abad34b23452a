#!/bin/sh
# Install etcd (Debian's etcd-server and etcd-client: /usr/bin/etcd, /usr/bin/etcdctl) when missing.
# The package does not start a service by itself in containers; the tests and `make cluster` start
# their own members on free loopback ports.
set -e
if command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq etcd-server etcd-client
