# Shell functions shared by the deb and rpm maintainer scripts; packaging/cpack.cmake pastes
# this file into each script at build time (a maintainer script cannot source a file that the
# package is removing). POSIX sh; every function is safe to run twice.

turnd_nologin() {
  for shell in /usr/sbin/nologin /sbin/nologin; do
    if [ -x "$shell" ]; then echo "$shell"; return 0; fi
  done
  echo /bin/false
}

# System group and user turnd, home /var/lib/turnd (0700), no login shell.
turnd_create_user() {
  getent group turnd >/dev/null || groupadd --system turnd
  if ! getent passwd turnd >/dev/null; then
    useradd --system --gid turnd --home-dir /var/lib/turnd --no-create-home \
      --shell "$(turnd_nologin)" --comment "turnd STUN/TURN server" turnd
  fi
  mkdir -p /var/lib/turnd
  chown turnd:turnd /var/lib/turnd
  chmod 0700 /var/lib/turnd
}

# The config may hold secrets: readable by root and turnd only.
turnd_config_mode() {
  if [ -f /etc/turnd/turnd.yaml ]; then
    chown root:turnd /etc/turnd/turnd.yaml
    chmod 0640 /etc/turnd/turnd.yaml
  fi
}

# A random REST secret (32 bytes, base64) in /etc/turnd/secret, mode 0640 root:turnd, made only
# when the file does not exist: an upgrade keeps the operator's secret.
turnd_make_secret() {
  if [ -e /etc/turnd/secret ]; then return 0; fi
  mkdir -p /etc/turnd
  tmp=$(umask 077 && mktemp /etc/turnd/.secret.XXXXXX)
  {
    echo "# turnd REST API secrets (auth.secret_file in /etc/turnd/turnd.yaml): one per line,"
    echo "# newest first; turnctl mint signs with the first. Generated at install time."
    head -c 32 /dev/urandom | base64
  } >"$tmp"
  chown root:turnd "$tmp"
  chmod 0640 "$tmp"
  mv "$tmp" /etc/turnd/secret
}

# Purge: the generated secret, leftovers of the config, the state directory, user and group.
turnd_purge() {
  rm -f /etc/turnd/secret /etc/turnd/.secret.* /etc/turnd/turnd.yaml \
    /etc/turnd/turnd.yaml.dpkg-* /etc/turnd/turnd.yaml.rpm*
  rmdir /etc/turnd 2>/dev/null || true
  rm -rf /var/lib/turnd
  if getent passwd turnd >/dev/null; then userdel turnd || true; fi
  if getent group turnd >/dev/null; then groupdel turnd || true; fi
}
