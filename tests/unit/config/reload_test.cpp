#include "config/reload.hpp"

#include <gtest/gtest.h>

#include "config/settings.hpp"

namespace turnd::config {
namespace {

using protocol::IpAddress;
using protocol::IpPrefix;
using protocol::TransportAddress;

TEST(Reload, EveryRestartOnlyKeyIsASetting) {
  for (const auto& key : restart_only_keys())
    EXPECT_NE(find_setting(key), nullptr) << key << " is not in the settings table";
}

TEST(Reload, SameConfigChangesNothing) {
  const Config c;
  EXPECT_TRUE(restart_only_changes(c, c).empty());
  EXPECT_EQ(reloadable_part(c, c), c);
}

TEST(Reload, ReloadableSettingsPassThrough) {
  const Config running;
  Config next;
  next.auth_secrets = {"new-secret"};
  next.users = {{"alice", "pw"}};
  next.allow_peers = {*IpPrefix::parse("10.0.0.0/8")};
  next.user_quota = 5;
  next.total_quota = 100;
  next.max_connections = 7;
  next.log_level = "debug";
  next.admin_api_key = "k";
  next.shutdown_grace = std::chrono::seconds{5};
  EXPECT_TRUE(restart_only_changes(running, next).empty());
  EXPECT_EQ(reloadable_part(running, next), next);
}

TEST(Reload, RestartOnlySettingsAreNamedAndKept) {
  Config running;
  running.admin_listen = TransportAddress{*IpAddress::parse("127.0.0.1"), 9641};
  Config next = running;
  next.listen = {{*IpAddress::parse("127.0.0.1"), 3479}};
  next.threads = 3;
  next.relay_ports = {50000, 50100};
  next.realm = "other.example";
  next.redis = "redis://127.0.0.1:6390";
  next.admin_listen.reset();
  next.auth_secrets = {"applied"};
  EXPECT_EQ(restart_only_changes(running, next),
            (std::vector<std::string>{"listen", "realm", "threads", "auth.redis", "relay.ports",
                                      "admin.listen"}));
  const Config applied = reloadable_part(running, next);
  EXPECT_EQ(applied.listen, running.listen);
  EXPECT_EQ(applied.threads, running.threads);
  EXPECT_EQ(applied.relay_ports, running.relay_ports);
  EXPECT_EQ(applied.realm, running.realm);
  EXPECT_EQ(applied.redis, running.redis);
  EXPECT_EQ(applied.admin_listen, running.admin_listen);
  EXPECT_EQ(applied.auth_secrets, next.auth_secrets);  // the rest applies
}

}  // namespace
}  // namespace turnd::config
