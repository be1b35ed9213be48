# turnd %postun: restart after an upgrade ($1 >= 1). rpm has no purge: an erase keeps user,
# group and /etc/turnd/secret (an edited config stays as turnd.yaml.rpmsave); see
# packaging/README.md for removing them by hand.
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -ge 1 ]; then
    systemctl try-restart turnd.service >/dev/null 2>&1 || :
  fi
fi
